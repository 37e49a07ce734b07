"""Record stores and the audit trail: everything that touches a disk or a server.

Only this package imports pymysql or redis, and no driver exception leaves it:
each backend turns them into ``sleeplog.errors`` classes in one mapping.
"""
