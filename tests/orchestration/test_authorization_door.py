"""Authorization has one door (docs/architecture.md, rule 4): no module but
orchestration/authorization.py reads guardian's organization permission tables or asks
guardian itself; role_groups.py beside it writes the rows, and accounts/models.py declares
the tables. Everything else asks the door."""

import ast

from tests.test_architecture import project_modules

DOOR = {
    "orchestration.authorization",  # reads them
    "orchestration.role_groups",  # writes them (roles -> group permissions)
    "accounts.models",  # declares them
}
GUARDIAN_NAMES = {
    "OrganizationGroupObjectPermission",
    "OrganizationUserObjectPermission",
    "GroupObjectPermissionBase",
    "UserObjectPermissionBase",
    "get_objects_for_user",
    "ObjectPermissionChecker",
    "organizations_for",
}


def guardian_reads(source: str) -> list[str]:
    """Where `source` imports guardian or names its tables or checkers."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                modules.append(node.module or "")
            if any(module.split(".")[0] == "guardian" for module in modules):
                found.append(f"line {node.lineno}: imports guardian")
            found += [
                f"line {node.lineno}: imports {alias.name}"
                for alias in node.names
                if alias.name in GUARDIAN_NAMES
            ]
        elif isinstance(node, ast.Name) and node.id in GUARDIAN_NAMES:
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in GUARDIAN_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_no_module_outside_the_door_reads_guardian():
    outside = {
        module: reads
        for module, path in project_modules().items()
        if module not in DOOR and (reads := guardian_reads(path.read_text()))
    }
    assert outside == {}


def test_the_door_is_where_the_reads_are():
    # The guard would pass vacuously if the door stopped reading the tables by these names.
    door = project_modules()["orchestration.authorization"].read_text()
    assert guardian_reads(door)


def test_a_guardian_read_is_found():
    assert guardian_reads("from guardian.shortcuts import get_objects_for_user\n") == [
        "line 1: imports guardian",
        "line 1: imports get_objects_for_user",
    ]
    assert guardian_reads("x = models.OrganizationUserObjectPermission.objects.all()\n") == [
        "line 1: .OrganizationUserObjectPermission"
    ]
