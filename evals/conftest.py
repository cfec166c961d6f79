"""``pytest evals/`` collects the eval case files (see :mod:`evals.pytest_plugin`)."""

from evals.pytest_plugin import pytest_addoption, pytest_collect_file, pytest_configure  # noqa: F401 - pytest hooks
