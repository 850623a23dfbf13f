"""Run state has one door (docs/architecture.md, rule 3): no module but
orchestration/services/run_state.py writes a run's status. Read from the source: an
assignment to `.status`, a `status=` keyword in a create or update, "status" in
`update_fields`; the writes of other models' statuses are named below, each with its model.
A start whose running state couldn't be recorded (the database locked) still gets its start
record through the door: tests/orchestration/test_database_unavailable.py."""

import ast

import pytest

from orchestration.exceptions import RunStateConflict
from orchestration.models import WorkflowRun
from orchestration.services.audit import AuditAction
from orchestration.services.run_state import Event, run_transition
from tests.test_architecture import project_modules

DOOR = "orchestration.services.run_state"
WRITING_METHODS = {"create", "update", "update_or_create", "get_or_create", "bulk_create"}
# Writes of a status that is not a run's: (module, the expression whose status is written).
OTHER_STATUSES = {
    ("orchestration.platform.services", "client"),  # Client.status
    ("orchestration.workflows.client_offboarding.services", "client"),  # Client.status
    ("orchestration.input_limits", "self"),  # an HTTP status on a refusal
}


def status_writes(module: str, source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if (
                    isinstance(element, ast.Attribute)
                    and element.attr == "status"
                    and (module, ast.unparse(element.value)) not in OTHER_STATUSES
                ):
                    found.append(f"line {node.lineno}: {ast.unparse(element)} = ...")
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        named = node.func.id if isinstance(node.func, ast.Name) else ""
        writes = called in WRITING_METHODS or named == "WorkflowRun"
        if writes and any(keyword.arg == "status" for keyword in node.keywords):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}(status=...)")
        receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        for keyword in node.keywords:
            if (
                keyword.arg == "update_fields"
                and "'status'" in ast.unparse(keyword.value)
                and (module, receiver) not in OTHER_STATUSES
            ):
                found.append(f"line {node.lineno}: update_fields with status")
    return found


def test_no_module_but_the_door_writes_a_runs_status():
    outside = {
        module: writes
        for module, path in project_modules().items()
        if module != DOOR and (writes := status_writes(module, path.read_text()))
    }
    assert outside == {}


def test_the_door_is_where_the_write_is():
    door = project_modules()[DOOR].read_text()
    assert status_writes(DOOR, door)


@pytest.mark.parametrize(
    "source",
    [
        "run.status = 'RUNNING'",
        "run.status, run.error = 'FAILED', 'x'",
        "WorkflowRun.objects.filter(pk=1).update(status='FAILED')",
        "runs.update(status=Status.FAILED, error='')",
        "WorkflowRun.objects.create(organization=o, status='RUNNING')",
        "WorkflowRun(status='RUNNING')",
        "run.save(update_fields=['status', 'error'])",
    ],
)
def test_each_way_of_writing_a_status_is_found(source):
    assert status_writes("orchestration.somewhere", source)


@pytest.mark.django_db
def test_the_door_refuses_an_illegal_change_and_writes_nothing(orgs):
    run = WorkflowRun.objects.create(
        organization=orgs["acme"], workflow_type="platform-sync", workflow_id="w-door"
    )
    status = Event(AuditAction.WORKFLOW_STATUS)
    run_transition(run=run, to="COMPLETED", event=status, result={})
    with pytest.raises(RunStateConflict):
        run_transition(run=run, to="RUNNING", event=status)
    run.refresh_from_db()
    assert run.status == "COMPLETED"
    # Straight from PENDING to its outcome: the door recorded its start first, once.
    assert list(run.audit_events.order_by("id").values_list("action", flat=True)) == [
        "workflow.started",
        "workflow.status",
    ]
