"""Database connections on the worker's long-lived activity threads.

Django recycles connections around requests only. An activity thread keeps its connection
from one activity to the next, so whatever ended an activity (success, an error, a timeout,
or a cancellation the SDK raises into the thread, possibly in the middle of Django's
`BEGIN IMMEDIATE`) must not leave a transaction open on it: on SQLite an open write
transaction holds the database's only write lock, and every other writer of every process
waits for it until its busy timeout.
"""

import contextlib

from django.db import close_old_connections, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def _in_transaction(connection: BaseDatabaseWrapper) -> bool:
    """Whether the driver's connection is inside a transaction, whatever Django believes."""
    raw = connection.connection
    if raw is None:
        return False
    if connection.in_atomic_block:
        return True
    if connection.vendor == "sqlite":
        return raw.in_transaction
    if connection.vendor == "postgresql":
        from psycopg.pq import TransactionStatus

        return raw.info.transaction_status != TransactionStatus.IDLE
    return not raw.autocommit


def release_connections() -> None:
    """Close any of this thread's connections left inside a transaction (closing rolls it
    back and releases its locks; the next query opens a fresh connection), then recycle the
    rest as Django does around requests."""
    for connection in connections.all(initialized_only=True):
        if _in_transaction(connection):
            with contextlib.suppress(Exception):  # a broken connection is closed all the same
                connection.connection.close()
            # Django's own state (an atomic block it believes open) is reset on the next
            # connect(), which a connection of None makes it call.
            connection.connection = None
    close_old_connections()
