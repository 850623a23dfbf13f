from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orchestration.workflows.catalog import catalog_markdown, readme_with_catalog


class Command(BaseCommand):
    help = (
        "Print the README's tables about workflow types (start bodies, steps and policies, "
        "who may run them), written from the registry; --write puts them into a README."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--write",
            metavar="README",
            help="Replace the catalog between the markers in this file instead of printing.",
        )

    def handle(self, *args, write, **options):
        if not write:
            self.stdout.write(catalog_markdown())
            return
        path = Path(write)
        try:
            text = path.read_text()
            updated = readme_with_catalog(text)
        except FileNotFoundError:
            raise CommandError(f"No file {path}.") from None
        except ValueError:
            raise CommandError(f"{path} has no workflow-catalog markers.") from None
        path.write_text(updated)
        self.stdout.write(
            self.style.SUCCESS(f"{path}: {'updated' if updated != text else 'already current'}.")
        )
