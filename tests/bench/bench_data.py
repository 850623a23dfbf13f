"""The million-run dataset the list benchmarks read (issue 12, P4). `make bench-data`, or:

    .venv/bin/python tests/bench/bench_data.py [--runs 1000000] [--orgs 50] [--out PATH]
                                               [--migrate-to MIGRATION]

Migrates a fresh SQLite file (var/bench/lists.sqlite3), creates 50 organizations, a manager
of the first one (`bench-manager`, 20,000 of the runs are its organization's) and a superuser
(`bench-admin`), both with the password `bench`, through the ORM and the membership service
(so guardian's role groups are real), and then bulk-inserts the runs and two audit events per
run with sqlite3's executemany in one transaction (journal off: a throw-away file).
`--migrate-to orchestration 0006` builds the same data without the later indexes, to measure
what they buy. Writes var/bench/lists.json's sibling lists-data.json with what it made.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
OUT_DIR = REPO / "var" / "bench"
DEFAULT_DB = OUT_DIR / "lists.sqlite3"
PASSWORD = "bench"
MANAGER_RUNS = 20_000
BATCH = 50_000
# Realistic proportions: most runs complete; a few fail or are still running.
STATUSES = [
    ("COMPLETED", 80),
    ("FAILED", 8),
    ("RUNNING", 4),
    ("CANCELED", 3),
    ("TERMINATED", 2),
    ("TIMED_OUT", 2),
    ("START_FAILED", 1),
]


def log(message: str) -> None:
    print(f"[bench-data] {message}", file=sys.stderr, flush=True)


def setup_django(path: Path, migrate_to: list[str] | None) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnify.settings.local")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if migrate_to:
        call_command("migrate", *migrate_to, verbosity=0)


def make_people(orgs: int) -> tuple[list[int], list[int]]:
    """Organizations and their staff; returns (organization ids, user ids to start runs)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Organization
    from accounts.roles import Role
    from orchestration.services.memberships import membership_set_role

    User = get_user_model()
    organizations = [
        Organization.objects.create(name=f"Bench {index:02d}", slug=f"bench-{index:02d}")
        for index in range(orgs)
    ]
    User.objects.create_superuser("bench-admin", "admin@bench.invalid", PASSWORD)
    manager = User.objects.create_user("bench-manager", is_staff=True, password=PASSWORD)
    membership_set_role(organization=organizations[0], user=manager, role=Role.MANAGER)
    starters = [manager.pk]
    for index, organization in enumerate(organizations[1:], start=1):
        user = User.objects.create_user(f"bench-user-{index:02d}", password=PASSWORD)
        membership_set_role(organization=organization, user=user, role=Role.OPERATOR)
        starters.append(user.pk)
    return [organization.pk for organization in organizations], starters


def insert(path: Path, *, runs: int, org_ids: list[int], starters: list[int]) -> None:
    from orchestration.services.audit import AuditAction
    from orchestration.workflows.registry import UNITS

    START, STARTED, STATUS = (
        AuditAction.WORKFLOW_START.value,
        AuditAction.WORKFLOW_STARTED.value,
        AuditAction.WORKFLOW_STATUS.value,
    )

    types = sorted(UNITS)
    statuses = [name for name, weight in STATUSES for _ in range(weight)]
    rng = random.Random(12)
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;"
        "PRAGMA temp_store=MEMORY;"
    )
    run_sql = (
        "INSERT INTO orchestration_workflowrun (id, organization_id, workflow_type, workflow_id,"
        " run_id, status, input, result, error, current_step, steps_done, retrying,"
        " last_failure, last_failure_activity, started_by_id, cancel_requested_by_id,"
        " idempotency_key, created_at, started_at, closed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, '{}', NULL, ?, '', '[]', 0, '', '', ?, NULL, '', ?, ?, ?)"
    )
    audit_sql = (
        "INSERT INTO orchestration_auditevent (created_at, actor_id, actor_username,"
        " organization_id, action, run_id, workflow_id, payload, outcome, request_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, '')"
    )
    # The first organization gets MANAGER_RUNS runs; the others share the rest evenly.
    others = org_ids[1:]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
    manager_every = max(1, runs // MANAGER_RUNS)
    db.execute("BEGIN")
    began = time.monotonic()
    run_rows: list[tuple] = []
    audit_rows: list[tuple] = []
    for index in range(runs):
        if index % manager_every == 0 and index // manager_every < MANAGER_RUNS:
            slot = 0
        else:
            slot = 1 + index % len(others)
        organization = org_ids[slot]
        starter = starters[slot]
        created = start + timedelta(seconds=span * index / runs)
        run_pk = uuid.UUID(int=rng.getrandbits(128), version=4)
        workflow_type = types[index % len(types)]
        workflow_id = f"{workflow_type}-{run_pk}"
        status = rng.choice(statuses)
        closed = None if status == "RUNNING" else created + timedelta(seconds=30)
        at = created.strftime("%Y-%m-%d %H:%M:%S.%f")
        run_rows.append(
            (
                run_pk.hex,
                organization,
                workflow_type,
                workflow_id,
                uuid.UUID(int=rng.getrandbits(128)).hex if status != "START_FAILED" else "",
                status,
                "boom" if status == "FAILED" else "",
                starter,
                at,
                at if status != "START_FAILED" else None,
                closed.strftime("%Y-%m-%d %H:%M:%S.%f") if closed else None,
            )
        )
        username = "bench-manager" if slot == 0 else f"bench-user-{slot:02d}"
        outcome = "failure" if status == "START_FAILED" else "success"
        audit_rows.append(
            (at, starter, username, organization, START, run_pk.hex, workflow_id, outcome)
        )
        if closed is not None:
            closed_at = closed.strftime("%Y-%m-%d %H:%M:%S.%f")
            audit_rows.append(
                (closed_at, None, "", organization, STATUS, run_pk.hex, workflow_id, "success")
            )
        else:
            audit_rows.append(
                (at, starter, username, organization, STARTED, run_pk.hex, workflow_id,
                 "success")
            )  # fmt: skip
        if len(run_rows) == BATCH or index == runs - 1:
            db.executemany(run_sql, run_rows)
            db.executemany(audit_sql, audit_rows)
            run_rows.clear()
            audit_rows.clear()
            log(f"{index + 1:>9,} runs  ({time.monotonic() - began:5.1f} s)")
    db.execute("COMMIT")
    log("ANALYZE (the query planner's statistics) ...")
    db.execute("ANALYZE")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=DEFAULT_DB)
    parser.add_argument(
        "--migrate-to", nargs=2, metavar=("APP", "MIGRATION"), help="e.g. orchestration 0006"
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{args.out}{suffix}").unlink(missing_ok=True)
    began = time.monotonic()
    log(f"migrating {args.out} ...")
    setup_django(args.out, args.migrate_to)
    org_ids, starters = make_people(args.orgs)
    from django.db import connection

    connection.close()
    log(f"{args.orgs} organizations; inserting {args.runs:,} runs and {2 * args.runs:,} events")
    insert(args.out, runs=args.runs, org_ids=org_ids, starters=starters)
    seconds = time.monotonic() - began
    summary = {
        "database": str(args.out),
        "runs": args.runs,
        "audit_events_approx": 2 * args.runs,
        "organizations": args.orgs,
        "manager_runs": min(MANAGER_RUNS, args.runs),
        "migrated_to": args.migrate_to,
        "seconds": round(seconds, 1),
    }
    (args.out.parent / f"{args.out.stem}-data.json").write_text(json.dumps(summary, indent=2))
    log(f"done in {seconds:.0f} s: {args.out}")


if __name__ == "__main__":
    main()
