import sys

from django.core.management.base import BaseCommand, CommandError

from orchestration.exceptions import TemporalUnavailable
from orchestration.services.schedules import ScheduleInvalid, workflow_schedules_sync


class Command(BaseCommand):
    help = (
        "Make Temporal's schedules say what the console's database says (after a Temporal "
        "restore, or edits made in Temporal): create the missing ones, bring drifted ones "
        "back, and report Temporal's omnify-schedule-* schedules that have no row (deleted "
        "only with --prune). --check changes nothing and exits 1 on any drift."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Report drift only; exit 1 if there is any."
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also delete Temporal schedules of the console that have no row.",
        )

    def handle(self, *args, check, prune, **options):
        try:
            results = workflow_schedules_sync(apply=not check, prune=prune)
        except (TemporalUnavailable, ScheduleInvalid) as error:
            raise CommandError(str(error)) from error
        counts: dict[str, int] = {}
        for result in results:
            counts[result.state] = counts.get(result.state, 0) + 1
            if result.state == "in_step":
                continue
            if result.fixed:
                done = "deleted" if result.state == "orphan" else "fixed"
            else:
                done = "left" if result.state == "orphan" and not check else "not fixed"
            for detail in result.details:
                self.stdout.write(f"{result.schedule_id}: {result.state}: {detail} ({done})")
        drift = sum(count for state, count in counts.items() if state != "in_step")
        summary = (
            f"{len(results)} schedule(s): {counts.get('in_step', 0)} in step, "
            f"{counts.get('missing', 0)} missing, {counts.get('drifted', 0)} drifted, "
            f"{counts.get('orphan', 0)} without a row"
            + (" (check only: nothing changed)." if check else ".")
        )
        if check and drift:
            self.stdout.write(self.style.WARNING(summary))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(summary))
