"""A million records through an Airbyte connector: the console's sync against the connector
alone. `make bench-connectors`, or from the repository root:

    .venv/bin/python tests/bench/bench_connectors.py [--users 50000 500000]

For each size, `source-faker` (pinned, in its own virtualenv; installed first if it isn't)
generates `--users` users, as many purchases and 100 products (about twice `--users`
records), read with the catalog the console gives it:

- alone: `source-faker read` with its output written to a file, nothing else;
- through the console: `platform_records_sync` on a throw-away SQLite database, the code the
  worker's sync activity runs: the same `read`, each record upserted into the raw table, each
  of the connector's checkpoints committed with the records before it; then the
  normalization step into customers, timed apart.

Each side runs in a process of its own, so its peak RSS (`ru_maxrss`) is its own: the
connector's, and the console's process (what the worker's activity adds) after the sync and
after the normalization. A flat memory shows as the same peak RSS at both sizes. Prints a
table and writes var/bench/connectors.json. Reports; doesn't fail on a number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def django_on(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "omnify.settings.local"
    os.environ["DJANGO_DEBUG"] = "0"  # no query log on the timed path
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 40)
    import django

    django.setup()


def faker_config(users: int) -> dict:
    from orchestration.platform.airbyte import spec
    from orchestration.platform.airbyte.sources import source_named

    return spec.with_defaults(source_named("faker"), {"count": users, "seed": 1})


def alone(users: int, workdir: Path) -> dict:
    """`source-faker read` to a file, and its own peak RSS."""
    from orchestration.platform.airbyte import install
    from orchestration.platform.airbyte.sources import source_named
    from orchestration.platform.connectors.airbyte import configured_catalog
    from orchestration.platform.normalization import streams_to_read

    source = source_named("faker")
    command = install.installed_command(source)
    config = faker_config(users)
    catalog, _ = configured_catalog(source, command, config, [], streams_to_read("faker", {}))
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    output = workdir / "records.jsonl"
    began = time.perf_counter()
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(command), "read", "--config", "config.json", "--catalog", "catalog.json"],
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"source-faker read exited with {status}")
    with output.open("rb") as lines:
        records = sum(1 for line in lines if line.startswith(b'{"type":"RECORD"'))
    return {"records": records, "seconds": seconds, "connector_rss_mb": usage.ru_maxrss / 1024}


def through_console(users: int) -> dict:
    """The sync activity's code on a fresh database, then the normalization step."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Organization
    from orchestration.models import Client, Integration, RawRecord
    from orchestration.platform.sync import platform_records_normalize, platform_records_sync

    organization = Organization.objects.create(name="Bench", slug="bench")
    client = Client.objects.create(
        organization=organization, name="Bench shop", email="shop@bench.example", status="active"
    )
    Integration.objects.create(
        client=client, platform="ga4", connector="faker", config=faker_config(users)
    )
    where = {"organization_id": organization.pk, "client_id": client.pk, "platform": "ga4"}
    began = time.perf_counter()
    outcome = platform_records_sync(**where, heartbeat=lambda *details: None)
    seconds = time.perf_counter() - began
    sync_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    normalized = platform_records_normalize(**where)
    normalize_seconds = time.perf_counter() - began
    raw = RawRecord.objects.count()
    if raw != outcome.progress.fetched:
        raise SystemExit(f"{outcome.progress.fetched} records read but {raw} raw rows kept")
    return {
        "records": outcome.progress.fetched,
        "seconds": seconds,
        "normalize_seconds": normalize_seconds,
        "customers": normalized.customers,
        "console_sync_rss_mb": sync_rss,
        "console_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "connector_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def phase(name: str, users: int, workdir: Path) -> dict:
    """Run one side in a process of its own (its peak RSS is then its own)."""
    answer = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--users", str(users), "--workdir", workdir],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--phase", choices=["alone", "console"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench" / "connectors.json")
    args = parser.parse_args()
    if args.phase:
        django_on(args.workdir / "db.sqlite3")
        if args.phase == "alone":
            print(json.dumps(alone(args.users[0], args.workdir)))
        else:
            print(json.dumps(through_console(args.users[0])))
        return

    (REPO / "var" / "bench").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "install_connectors", "faker"], check=True
    )
    rows = []
    for users in args.users:
        workdir = Path(tempfile.mkdtemp(prefix="bench-connectors-", dir=REPO / "var"))
        try:
            log(f"{users:,} users: source-faker alone, to a file")
            bare = phase("alone", users, workdir)
            log(f"{users:,} users: through the console's sync")
            console = phase("console", users, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        rows.append(
            {
                "users": users,
                "records": console["records"],
                "alone_records": bare["records"],
                "alone_records_per_s": bare["records"] / bare["seconds"],
                "console_records_per_s": console["records"] / console["seconds"],
                "ratio": (console["records"] / console["seconds"])
                / (bare["records"] / bare["seconds"]),
                "normalize_seconds": console["normalize_seconds"],
                "customers": console["customers"],
                "alone_connector_rss_mb": bare["connector_rss_mb"],
                "console_connector_rss_mb": console["connector_rss_mb"],
                "console_sync_rss_mb": console["console_sync_rss_mb"],
                "console_rss_mb": console["console_rss_mb"],
            }
        )
    print(
        f"\n{'records':>9} {'alone rec/s':>12} {'console rec/s':>14} {'ratio':>6} "
        f"{'normalize':>10} {'connector RSS (alone/console)':>30} "
        f"{'console RSS (sync/+normalize)':>30}"
    )
    for row in rows:
        print(
            f"{row['records']:>9,} {row['alone_records_per_s']:>12,.0f} "
            f"{row['console_records_per_s']:>14,.0f} {row['ratio']:>6.2f} "
            f"{row['normalize_seconds']:>9.1f}s "
            f"{row['alone_connector_rss_mb']:>14.0f} MB / "
            f"{row['console_connector_rss_mb']:>6.0f} MB "
            f"{row['console_sync_rss_mb']:>16.0f} MB / {row['console_rss_mb']:>6.0f} MB"
        )
    args.out.write_text(json.dumps(rows, indent=2))
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
