"""The eval framework behind ``coach eval`` (and ``pytest evals/``).

Cases as data (:mod:`evals.cases`, files in ``evals/suites/``), targets that produce outputs
(:mod:`evals.targets`, :mod:`evals.product_targets`), assertions that judge them
(:mod:`evals.assertions`, :mod:`evals.grader`), a runner with repeats, a cache of model calls and a
cost ceiling (:mod:`evals.runner`, :mod:`evals.cache`), figures and gates (:mod:`evals.results`,
:mod:`evals.stats`, :mod:`evals.thresholds`, :mod:`evals.baseline`) and reports (:mod:`evals.reports`).
``evals/retrieval.py`` holds the retrieval metrics and dataset loader the retrieval suite reuses.
"""
