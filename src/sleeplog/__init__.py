"""sleeplog: an HTTP service for sleep records kept in MySQL or Redis.

The layers, from the outside in: ``sleeplog.web`` (the only package that
imports bottle), ``sleeplog.services`` (pure Python that anyone can import),
``sleeplog.storage`` (the only package that imports a database driver).
``models``, ``errors``, ``timestamps`` and ``config`` are shared vocabulary
that does no network I/O.
"""

__version__ = "0.1.0"
