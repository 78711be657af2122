"""Requesting an analysis (design §10): a reader asks through a GitHub issue form, a
maintainer approves with a label, a workflow answers with a pull request.

`form` owns the form's contract (its fields, the prefilled link on an article page, the
reading of the issue body it makes); `decide` owns the workflow's decision on an
approved request. The workflow itself is .github/workflows/request.yml.
"""
