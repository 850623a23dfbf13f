from django.core.management.base import BaseCommand, CommandError

from orchestration.exceptions import TemporalUnavailable
from orchestration.services.runs import workflow_runs_reconcile


class Command(BaseCommand):
    help = (
        "Compare open runs with Temporal and record what became of them (for example when a "
        "worker died before reporting). Each fix writes an audit event."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending-grace",
            type=int,
            default=60,
            help="Leave PENDING runs younger than this many seconds alone (default 60).",
        )

    def handle(self, *args, pending_grace, **options):
        try:
            changes = workflow_runs_reconcile(pending_grace_seconds=pending_grace)
        except TemporalUnavailable as error:
            raise CommandError(str(error)) from error
        for run, status in changes:
            self.stdout.write(f"{run.workflow_id}: {run.status} -> {status}")
        self.stdout.write(self.style.SUCCESS(f"Reconciled {len(changes)} run(s)."))
