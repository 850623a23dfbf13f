"""The onboarding's shape with nothing in it, for bench_throughput's P5: what ConsoleWorkflow
does around three steps (a local-activity report before each step, the step's activity, a
final report), with activities that touch no database. Its own module, importing only
temporalio, so the workflow sandbox can load it."""

from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=60)


@activity.defn(name="bench_noop")
def bench_noop(step: str) -> str:
    return step


@workflow.defn(name="bench-no-database")
class NoDatabaseWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_local_activity(
                "bench_noop", f"report {step}", start_to_close_timeout=TIMEOUT
            )
            await workflow.execute_activity(
                "bench_noop", f"step {step}", start_to_close_timeout=TIMEOUT
            )
        await workflow.execute_local_activity(
            "bench_noop", "report done", start_to_close_timeout=TIMEOUT
        )
        return steps
