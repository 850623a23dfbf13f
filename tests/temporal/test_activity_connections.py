"""An activity thread left inside a transaction (a cancellation raised into it in the middle of
Django's BEGIN IMMEDIATE) must not wedge the console: releasing its connections, as every
activity does when it ends, frees the lock at once for every other writer."""

import threading

import pytest
from django.db import OperationalError, connections, transaction

from accounts.models import Organization
from orchestration.workflows.connections import release_connections


def write_from_another_connection(organization_id: int) -> None:
    """One UPDATE on a connection of its own that waits at most 200 ms for a lock."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            if other.vendor == "sqlite":
                cursor.execute("PRAGMA busy_timeout = 200")
            else:
                cursor.execute("SET lock_timeout = '200ms'")
            cursor.execute(
                "UPDATE accounts_organization SET name = %s WHERE id = %s",
                ["written elsewhere", organization_id],
            )
    finally:
        other.close()


class StuckActivityThread(threading.Thread):
    """Opens a transaction, writes, and never leaves the atomic block: what an activity
    cancelled between BEGIN and COMMIT leaves behind."""

    def __init__(self, organization_id: int) -> None:
        super().__init__(daemon=True)
        self.organization_id = organization_id
        self.holding, self.release, self.released, self.done = (threading.Event() for _ in range(4))
        self.error_after_release: Exception | None = None

    def run(self) -> None:
        transaction.atomic().__enter__()  # never exited, as after an asynchronous exception
        Organization.objects.filter(pk=self.organization_id).update(name="held")
        self.holding.set()
        self.release.wait(10)
        release_connections()
        try:  # the thread's next activity writes as usual
            Organization.objects.filter(pk=self.organization_id).update(name="next activity")
        except Exception as error:
            self.error_after_release = error
        self.released.set()
        self.done.wait(10)  # the thread lives on with its connection, as a pool thread does
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_left_open_by_a_cancelled_activity_is_released_at_once():
    organization = Organization.objects.create(name="Acme", slug="acme")
    stuck = StuckActivityThread(organization.pk)
    stuck.start()
    assert stuck.holding.wait(10)

    # The wedge: while the thread's transaction is open, nobody else can write.
    with pytest.raises(OperationalError):
        write_from_another_connection(organization.pk)

    stuck.release.set()
    assert stuck.released.wait(10)
    assert stuck.error_after_release is None
    try:
        write_from_another_connection(organization.pk)  # at once: no lock is left behind
    finally:
        stuck.done.set()
    organization.refresh_from_db()
    assert organization.name == "written elsewhere"


@pytest.mark.skipif(
    connections["default"].settings_dict["CONN_MAX_AGE"] == 0,
    reason="connections are pooled (PostgreSQL): each goes back to the pool after use anyway",
)
@pytest.mark.django_db(transaction=True)
def test_releasing_leaves_healthy_connections_alone():
    Organization.objects.create(name="Acme", slug="acme")
    connection = connections["default"]
    raw = connection.connection
    release_connections()
    assert connection.connection is raw  # a persistent connection outside a transaction stays
