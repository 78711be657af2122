"""The analysis pass: plan which articles need a model's analysis, call it, keep sidecars.

Only `sidecar` and `plan` are imported by the build; the model client is imported lazily
by `analyze`, so a build never loads the openai package.
"""
