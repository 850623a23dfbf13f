"""Does training starve the rest? An onboarding's end-to-end time while two EYES retrains
train, against its time alone. `make bench-training`, or from the repository root:

    .venv/bin/python tests/bench/bench_training_isolation.py [--onboardings 7]

Starts `make run`'s own stack (run_console: Temporal dev server, worker, uvicorn) with its
data in a throw-away folder. Times `--onboardings` client onboardings one after another,
each from its POST until the status endpoint says COMPLETED, first with nothing else running,
then while two long retrains train on the training task queue (their own worker slots and
threads), and prints the medians and p90s and their ratio. Reports; doesn't fail on a number.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.stack import DEMO_PASSWORD, ConsoleStack  # noqa: E402

API = "/api/temporal/workflows"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def onboarding_seconds(client: httpx.Client) -> float:
    """One onboarding, from the POST until the status endpoint says COMPLETED."""
    email = f"bench-{uuid.uuid4().hex[:8]}@initech.example"
    body = {
        "organization": "acme",
        "client": {"name": "Initech", "email": email, "platforms": ["ga4", "hubspot"]},
    }
    began = time.perf_counter()
    started = client.post(f"{API}/client-onboarding", json=body)
    started.raise_for_status()
    status_url = f"{API}/{started.json()['workflow_id']}/status"
    while (status := client.get(status_url).json()["status"]) != "COMPLETED":
        if status not in {"PENDING", "RUNNING"}:
            raise RuntimeError(f"onboarding ended {status}")
        time.sleep(0.05)
    return time.perf_counter() - began


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onboardings", type=int, default=7)
    args = parser.parse_args()
    (REPO / "var").mkdir(exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-training-", dir=REPO / "var"))
    try:
        with ConsoleStack(var_dir) as stack:
            token = httpx.post(
                f"{stack.base_url}/api/auth/token",
                data={"username": "acme-manager", "password": DEMO_PASSWORD},
            ).json()["token"]
            client = httpx.Client(
                base_url=stack.base_url, headers={"Authorization": f"Token {token}"}, timeout=30
            )
            onboarding_seconds(client)  # warm up the stack
            log(f"{args.onboardings} onboardings alone")
            alone = [onboarding_seconds(client) for _ in range(args.onboardings)]
            log("starting two long retrains")
            retrains = [
                client.post(
                    f"{API}/eyes-retrain",
                    json={"organization": "acme", "model": "churn", "params": {"epochs": 10**6}},
                ).json()["workflow_id"]
                for _ in range(2)
            ]
            time.sleep(5)  # both training
            log(f"{args.onboardings} onboardings while they train")
            training = [onboarding_seconds(client) for _ in range(args.onboardings)]
            still_training = [
                client.get(f"{API}/{workflow_id}/status").json()["status"] == "RUNNING"
                for workflow_id in retrains
            ]
            for workflow_id in retrains:
                client.post(f"{API}/{workflow_id}/cancel")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    ratio = statistics.median(training) / statistics.median(alone)
    result = {
        "onboardings": args.onboardings,
        "alone_median_s": round(statistics.median(alone), 3),
        "alone_p90_s": round(percentile(alone, 0.9), 3),
        "training_median_s": round(statistics.median(training), 3),
        "training_p90_s": round(percentile(training, 0.9), 3),
        "ratio_of_medians": round(ratio, 2),
        "retrains_still_training_at_the_end": sum(still_training),
    }
    out = REPO / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "training_isolation.json").write_text(json.dumps(result, indent=2))
    print(
        f"\nOnboarding end to end (POST to COMPLETED), {args.onboardings} each\n"
        "| condition | median | p90 |\n|---|---|---|\n"
        f"| alone | {result['alone_median_s']} s | {result['alone_p90_s']} s |\n"
        f"| while two retrains train | {result['training_median_s']} s | "
        f"{result['training_p90_s']} s |\n"
        f"Ratio of medians: {ratio:.2f}x ({sum(still_training)} of 2 retrains still training "
        f"at the end). Written to {out / 'training_isolation.json'}."
    )


if __name__ == "__main__":
    main()
