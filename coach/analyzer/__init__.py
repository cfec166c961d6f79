"""The deterministic critic of what a manager says (see :mod:`coach.analyzer.model` for its types)."""
