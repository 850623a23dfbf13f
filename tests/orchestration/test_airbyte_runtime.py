"""The Airbyte connectors' runtime: each installs into a virtualenv of its own (uv, from its
cache), one installer at a time, never leaving half a virtualenv; a failed install names the
package; a deployment that installs at build refuses to install at run time; the kept specs
are what the installed connectors print; a connector's process ends with its reader."""

import dataclasses
import json
import os
import subprocess
import threading
import time

import pytest

from orchestration.platform.airbyte import install, spec
from orchestration.platform.airbyte.process import ConnectorProcess, ConnectorTimeout
from orchestration.platform.airbyte.sources import SOURCES
from orchestration.platform.connectors import ConnectorUnavailable

INSTALLED_BY_MAKE_TEST = ["faker", "declarative", "hubspot"]
FAKER = SOURCES["faker"]


@pytest.mark.parametrize("name", INSTALLED_BY_MAKE_TEST)
def test_the_kept_spec_is_what_the_installed_connector_says(name):
    source = SOURCES[name]
    printed = subprocess.run(
        [str(install.installed_command(source)), "spec"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    said = next(
        json.loads(line)["spec"] for line in printed.splitlines() if '"type":"SPEC"' in line
    )
    assert said == spec.spec_of(source)


def test_every_pinned_source_has_its_spec_kept():
    for source in SOURCES.values():
        assert spec.schema_of(source)["type"] == "object", source.name


def test_two_installers_at_once_install_once(settings, tmp_path):
    settings.OMNIFY_CONNECTORS_DIR = tmp_path
    installed = []
    threads = [
        threading.Thread(target=lambda: installed.append(install.install(FAKER))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert sorted(installed) == [False, True]
    assert install.is_installed(FAKER)
    assert (tmp_path / "faker" / install.MARKER).read_text().strip() == FAKER.requirement
    assert install.installed_command(FAKER) == tmp_path / "faker" / "bin" / "source-faker"


def test_a_failed_install_names_the_package_and_leaves_nothing(settings, tmp_path):
    settings.OMNIFY_CONNECTORS_DIR = tmp_path
    missing = dataclasses.replace(FAKER, name="faker-missing", version="0.0.1")
    with pytest.raises(ConnectorUnavailable) as failed:
        install.install(missing)
    assert str(failed.value).startswith("Could not install airbyte-source-faker==0.0.1: ")
    assert not (tmp_path / "faker-missing").exists()


def test_a_half_installed_connector_is_installed_again(settings, tmp_path):
    settings.OMNIFY_CONNECTORS_DIR = tmp_path
    (tmp_path / "faker" / "bin").mkdir(parents=True)  # a virtualenv without its marker
    assert not install.is_installed(FAKER)
    assert install.install(FAKER)
    assert install.is_installed(FAKER)


def test_a_deployment_that_installs_at_build_refuses_to_install_at_run_time(settings, tmp_path):
    settings.OMNIFY_CONNECTORS_DIR = tmp_path
    settings.OMNIFY_CONNECTOR_INSTALL = False
    with pytest.raises(install.ConnectorNotInstalled) as refused:
        install.installed_command(FAKER)
    assert "manage.py install_connectors faker" in str(refused.value)
    assert not any(tmp_path.iterdir())


def test_a_connector_past_its_deadline_is_killed_with_its_children():
    # A shell that starts a child and waits: both must go.
    script = "sleep 300 & echo started; wait"
    started = time.monotonic()
    run = ConnectorProcess("/bin/sh", "-c", extra_args=(script,), deadline_seconds=1.5)
    group = run.pid
    with run, pytest.raises(ConnectorTimeout):
        list(run.messages())
    assert time.monotonic() - started < 10
    assert living_members(group) == []


def living_members(group: int) -> list[int]:
    """The processes of a process group that aren't zombies."""
    members = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(pid))
    return members
