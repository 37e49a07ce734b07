"""The HTTP layer: the only package that imports bottle.

Routes stay thin: they read the request, call a store or a service, and shape
the answer. Errors are raised as ``sleeplog.errors`` classes and turned into
JSON in one place, ``sleeplog.web.errors``.
"""
