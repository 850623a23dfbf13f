"""The README's walkthroughs run as written: the shell blocks marked `<!-- walkthrough -->`, in
README order, in one `bash -Eeuo pipefail` (so the variables one block sets reach the next),
against the web server as `make run` starts it, on `seed_demo`'s data.

A command fails the test when it fails (the README's `curl -f` stops at an HTTP error), and so
does a claim that stops holding: a trailing comment that starts with a status in capitals, a
number, null, true or false (`outcome $ONBOARDING   # COMPLETED`, `... /cancel   # 202`) is the
last word its command must print."""

import io
import os
import re
import signal
import subprocess
import tempfile

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.temporal

README = ROOT / "README.md"
MARKER = re.compile(r"<!-- walkthrough\b.*-->")
# The address `make run` serves on, as the README writes it.
README_ADDRESS = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")
CLAIM = re.compile(
    r"^(?P<command>[^#]*?\S)\s+#\s+(?P<claim>[A-Z][A-Z_]+|\d+|null|true|false)(?=$|[\s,;:.])"
)
REVOKE = re.compile(r"-X DELETE \S*/api/auth/token\b")
COMMENT = re.compile(r"(^|\s)#\s.*$")
# The whole walkthrough (a long retrain cancelled within seconds included) takes well under a
# minute; this only keeps a hanging command from hanging CI.
TIMEOUT_SECONDS = 240

# `__claim LINE CLAIM OUTPUT`: show what a claimed command printed, and stop unless its last
# word is the claim. The ERR trap names the script line that failed (mapped back to README's).
PREAMBLE = r"""__claim() {
  printf '%s\n' "$3"
  [ "${3##*[[:space:]]}" = "$2" ] || {
    echo "README.md:$1 says $2; its command printed: $3" >&2; exit 1; }
}
trap 'echo "__failed_at_script_line $LINENO" >&2' ERR
"""


def walkthrough_blocks(readme: str) -> list[list[tuple[int, str]]]:
    """The marked blocks, in README order: each a list of (README line number, line)."""
    lines = readme.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if not MARKER.fullmatch(line.strip()):
            continue
        assert lines[index + 1].startswith("```sh"), (
            f"README.md:{index + 1}: a walkthrough marker must stand just before a ```sh block"
        )
        block, number = [], index + 2
        while lines[number] != "```":
            block.append((number + 1, lines[number]))
            number += 1
        blocks.append(block)
    return blocks


def walkthrough_script(readme: str, address: str) -> tuple[str, list[int | None]]:
    """The blocks as one bash script for a server at `address` (host:port), with each claim
    checked, and the README line of each script line (None for the test's own)."""
    script = PREAMBLE.splitlines()
    origin: list[int | None] = [None] * len(script)
    for block in walkthrough_blocks(readme):
        command_start, quotes = None, 0  # where the command being read began; its quotes
        for number, line in block:
            line = README_ADDRESS.sub(address, line)
            if command_start is None:
                command_start = len(script)
            claim = CLAIM.match(line)
            if claim:
                line = claim["command"] + f'); __claim {number} {claim["claim"]} "$__said"'
                if command_start < len(script):
                    script[command_start] = "__said=$(" + script[command_start]
                else:
                    line = "__said=$(" + line
            script.append(line)
            origin.append(number)
            # A command goes on after a `\`, or inside a quoted string (JSON over lines).
            quotes += COMMENT.sub("", line).count("'")
            if not line.endswith("\\") and quotes % 2 == 0:
                command_start, quotes = None, 0
    return "\n".join(script) + "\n", origin


def assert_token_revoked_last(readme: str) -> None:
    """The walkthrough revokes its token at its very end: after the revoke, nothing but the
    check that the token is refused (a command used it after its revoke once)."""
    commands = [
        (number, line)
        for block in walkthrough_blocks(readme)
        for number, line in block
        if line.strip() and not line.lstrip().startswith("#")
    ]
    revokes = [i for i, (_, line) in enumerate(commands) if REVOKE.search(line)]
    assert revokes, "The README's walkthrough no longer revokes its token at the end."
    for number, line in commands[revokes[0] + 1 :]:
        claim = CLAIM.match(line)
        assert claim and claim["claim"] == "401", (
            f"README.md:{number} runs after the walkthrough revoked its token"
        )


def test_readme_walkthroughs_run_as_written(web_server, monkeypatch):
    from django.core.management import call_command

    from accounts.models import ApiToken
    from orchestration.models import Campaign, ModelVersion, WorkflowRun

    monkeypatch.delenv("DEMO_PASSWORD", raising=False)  # the README's password: omnify-demo
    call_command("seed_demo", stdout=io.StringIO())
    address = web_server.removeprefix("http://")
    script, origin = walkthrough_script(README.read_text(), address)
    assert_token_revoked_last(README.read_text())

    with tempfile.NamedTemporaryFile("w", suffix=".sh") as file:
        file.write(script)
        file.flush()
        bash = subprocess.Popen(
            ["bash", "-Eeuo", "pipefail", file.name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its curls and sleeps go with it on a timeout
        )
        try:
            stdout, stderr = bash.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(bash.pid, signal.SIGKILL)
            stdout, stderr = bash.communicate()
            pytest.fail(f"The walkthrough took more than {TIMEOUT_SECONDS} s.\n{stdout}\n{stderr}")
    failed_at = {  # in order, once each (a failure inside $(...) is reported twice)
        f"README.md:{origin[int(line) - 1]}": None
        for line in re.findall(r"^__failed_at_script_line (\d+)$", stderr, re.M)
        if origin[int(line) - 1] is not None
    }
    assert bash.returncode == 0, (
        f"The README walkthrough failed ({', '.join(failed_at) or 'see stderr'}).\n"
        f"stdout:\n{stdout}\nstderr:\n{stderr}"
    )

    # What the prose says besides the claims: the long retrain was training when cancelled and
    # stored nothing; the dry runs created no campaign; one run for one Idempotency-Key (the
    # GA4 sync, the keyed one, the two faker syncs of "Platform connectors" and the webhook's).
    assert re.search(r"\bepoch \d+/\d+\b", stdout), stdout
    assert ModelVersion.objects.filter(kind="churn").count() == 1
    assert Campaign.objects.count() == 1
    assert WorkflowRun.objects.filter(workflow_type="platform-sync").count() == 5
    assert not ApiToken.objects.filter(user__username="acme-manager").exists()
