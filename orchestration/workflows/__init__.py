"""One unit per workflow type, each in its own package (`<type>/`):

- `definition.py`: Django-free (the contract layer), imported by the sandboxed workflow: the
  type's name, label, permission, input and result dataclasses, its steps (typed activity
  stubs) and policy;
- `workflow.py`: the workflow class (sandboxed; `console_workflow.ConsoleWorkflow`);
- `activities.py`: the activities that implement the steps (Django; `activity.console_activity`);
- `unit.py`: the input schema (`input_schema.WorkflowStartSerializer`), the records a run
  makes, its result tables, and `UNIT` (`units.WorkflowUnit`).

`orchestration.contract.registry` lists the packages (one line per type); `registry.py` loads
their units for the worker, the API and the admin. Keep this package's `__init__` free of
imports: the sandbox imports it on the way to each workflow module.
"""
