"""The bottom layer: what every workflow type is, Django-free (docs/architecture.md).

`definition` (steps, policies, the input envelope, a type's definition), `vocabulary` (the
business words: platforms, models, channels), `protocol` (what workflows and the console tell
each other: status reports, error types, the console's own activity names) and `registry`
(the workflow types the console runs). The sandboxed workflow code and every layer above read
these modules; they import neither Django nor DRF, nor any other module of the console but
each other."""
