"""The Airbyte source connectors the console runs, each pinned to one release.

Each is a published PyPI package with a console script speaking the Airbyte protocol
(`spec`, `check`, `discover`, `read`). They pin different airbyte-cdk majors (6 and 7), so
each gets a virtualenv of its own (`orchestration.platform.airbyte.install`); most cap Python
below 3.12, which the installer asks of the interpreter it picks.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str  # what an integration's `connector` says
    label: str
    package: str  # the PyPI distribution
    version: str
    command: str  # its console script in the virtualenv's bin/
    # The Python versions the release installs on (a PEP 440 specifier).
    python: str
    # The platforms it reads for (empty: any; faker and the declarative source are generic).
    platforms: tuple[str, ...] = ()
    # Whether a read may start from a state it printed mid-read. Faker's can't: given one,
    # it starts again at id 1 or reads nothing, so a retry reads from the sync's start.
    resumes_mid_read: bool = True

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source(
            "faker",
            "Faker (generated shop data, offline)",
            "airbyte-source-faker",
            "7.2.1",
            "source-faker",
            ">=3.10,<3.13",
            resumes_mid_read=False,
        ),
        Source(
            "declarative",
            "Declarative manifest (any HTTP API described in YAML)",
            "airbyte-cdk",
            "6.61.6",
            "source-declarative-manifest",
            ">=3.10,<3.14",
        ),
        Source(
            "hubspot",
            "HubSpot",
            "airbyte-source-hubspot",
            "5.7.0",
            "source-hubspot",
            ">=3.10,<3.12",
            ("hubspot",),
        ),
        Source(
            "google-analytics-data-api",
            "Google Analytics 4 (Data API)",
            "airbyte-source-google-analytics-data-api",
            "2.8.2",
            "source-google-analytics-data-api",
            ">=3.10,<3.12",
            ("ga4",),
        ),
        Source(
            "salesforce",
            "Salesforce",
            "airbyte-source-salesforce",
            "2.10.3",
            "source-salesforce",
            ">=3.10,<3.14",
            ("salesforce",),
        ),
        Source(
            "tiktok-marketing",
            "TikTok Marketing",
            "airbyte-source-tiktok-marketing",
            "4.7.0",
            "source-tiktok-marketing",
            ">=3.10,<3.12",
            ("tiktok",),
        ),
        Source(
            "youtube-analytics",
            "YouTube Analytics",
            "airbyte-source-youtube-analytics",
            "1.0.0",
            "source-youtube-analytics",
            ">=3.10,<3.12",
            ("youtube",),
        ),
    )
}


def source_named(name: str) -> Source | None:
    return SOURCES.get(name)
