"""Eval suites: datasets (evals/datasets), scorers and runners."""
