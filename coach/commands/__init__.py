"""Subcommands of ``coach``: one module each, discovered by :mod:`coach.cli`."""
