"""One unit per workflow type, each in its own package (`<type>/`):

- `definition.py`: Django-free, imported by the sandboxed workflow: the type's name, input and
  result dataclasses, its steps (typed activity stubs) and policy;
- `workflow.py`: the workflow class (sandboxed);
- `activities.py`: the activities that implement the steps (Django);
- `unit.py`: the start serializer, the permission, the records a run makes, and `UNIT`.

`registry.py` lists the units; everything else (worker, services, API, admin, roles, schema,
configuration, README tables) reads it. Keep this package free of imports: the sandbox imports
it on the way to each workflow module.
"""
