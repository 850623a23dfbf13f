from django.core.management.base import BaseCommand, CommandError

from orchestration.platform.airbyte import install
from orchestration.platform.airbyte.sources import SOURCES
from orchestration.platform.connectors import ConnectorUnavailable


class Command(BaseCommand):
    help = (
        "Install the pinned Airbyte source connectors, each into its own virtualenv under "
        "OMNIFY_CONNECTORS_DIR (default var/connectors/), so no sync installs one at run "
        "time. Names: " + ", ".join(SOURCES) + " (default: all)."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="name", help="connectors to install")
        parser.add_argument(
            "--force", action="store_true", help="install again even when installed"
        )

    def handle(self, *args, names, force, **options):
        unknown = [name for name in names if name not in SOURCES]
        if unknown:
            raise CommandError(
                f"Unknown connector {', '.join(unknown)}; known: {', '.join(SOURCES)}."
            )
        # The installer logs its progress (what, where, how long, how big) as it goes.
        chosen = [SOURCES[name] for name in names] if names else list(SOURCES.values())
        for index, source in enumerate(chosen, 1):
            self.stdout.write(f"[{index}/{len(chosen)}] {source.name} ({source.requirement})")
            try:
                if not install.install(source, force=force):
                    self.stdout.write(f"  already installed in {install.venv_of(source)}")
            except ConnectorUnavailable as error:
                raise CommandError(str(error)) from None
