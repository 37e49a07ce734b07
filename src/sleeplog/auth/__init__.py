"""Accounts, roles, passwords and tokens as I/O-free vocabulary.

Nothing here imports bottle, waitress, a driver, ``sleeplog.web`` or
``sleeplog.storage``; stores and routes use these names, never the reverse.
"""
