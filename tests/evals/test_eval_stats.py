"""Pass rules, Wilson intervals, standard errors, noise-aware drops and Cohen's kappa."""

from __future__ import annotations

import math

import pytest

from evals.stats import (
    MeanSE,
    case_passes,
    cohen_kappa,
    mean_drop,
    mean_se,
    parse_pass_rule,
    pass_at_k,
    proportion_drop,
    wilson,
)


@pytest.mark.parametrize(("outcomes", "rule", "expected"), [
    ([True, True, True], "all", True),
    ([True, False, True], "all", False),
    ([True, False, True], "majority", True),
    ([True, False, False, True], "majority", False),  # a tie is not a majority
    ([False, False, True], "pass@2", False),  # only the first two attempts count
    ([False, True, False], "pass@2", True),
    ([False, False, True], "pass@3", True),
])
def test_pass_rules(outcomes: list[bool], rule: str, expected: bool) -> None:
    assert case_passes(outcomes, rule) is expected


@pytest.mark.parametrize("rule", ["most", "pass@0", "pass@", "pass@x", ""])
def test_unknown_pass_rules_are_refused(rule: str) -> None:
    with pytest.raises(ValueError, match="pass rule"):
        parse_pass_rule(rule)


def test_pass_at_k_needs_enough_repeats() -> None:
    with pytest.raises(ValueError, match="at least 3 repeats"):
        parse_pass_rule("pass@3", repeat=2)
    assert parse_pass_rule("PASS@2", repeat=2) == "pass@2"


def test_wilson_interval_matches_reference_values() -> None:
    # Reference: Wilson score interval, z = 1.96 (e.g. statsmodels proportion_confint(method="wilson")).
    p = wilson(8, 10)
    assert p.rate == 0.8
    assert p.low == pytest.approx(0.4902, abs=1e-3)
    assert p.high == pytest.approx(0.9433, abs=1e-3)
    full = wilson(20, 20)
    assert full.high == 1.0 and full.low == pytest.approx(0.8389, abs=1e-3)
    empty = wilson(0, 0)
    assert (empty.n, empty.low, empty.high) == (0, 0.0, 1.0)


def test_wilson_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_mean_and_standard_error() -> None:
    stat = mean_se([0.5, 0.7, 0.9])
    assert stat.mean == pytest.approx(0.7)
    assert stat.se == pytest.approx(0.2 / math.sqrt(3))
    assert mean_se([0.4]).se == 0.0


def test_pass_at_k_estimator() -> None:
    assert pass_at_k(5, 0, 2) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)


def test_small_drop_within_noise_is_not_flagged() -> None:
    drop = proportion_drop(18, 20, 17, 20)
    assert drop.delta == pytest.approx(-0.05)
    assert not drop.significant


def test_large_drop_beyond_noise_is_flagged() -> None:
    drop = proportion_drop(95, 100, 60, 100)
    assert drop.significant


def test_any_drop_without_noise_is_real() -> None:
    # Both rates at the extremes have no sampling spread at all (se 0): the drop is real.
    assert proportion_drop(40, 40, 0, 40).significant
    assert not proportion_drop(40, 40, 40, 40).significant
    # One case of 40 lost is within the noise of a 40-case sample (z about 1.0).
    assert not proportion_drop(40, 40, 39, 40).significant


def test_improvement_is_never_a_drop() -> None:
    assert not proportion_drop(10, 20, 20, 20).significant


def test_mean_drop_uses_combined_standard_errors() -> None:
    assert not mean_drop(MeanSE(0.80, 0.02, 30), MeanSE(0.77, 0.02, 30)).significant
    assert mean_drop(MeanSE(0.80, 0.01, 30), MeanSE(0.70, 0.01, 30)).significant


def test_cohen_kappa_known_example() -> None:
    # 50 items: both pass 20, both fail 15, human pass/grader fail 5, human fail/grader pass 10.
    human = [True] * 20 + [False] * 15 + [True] * 5 + [False] * 10
    grader = [True] * 20 + [False] * 15 + [False] * 5 + [True] * 10
    result = cohen_kappa(human, grader)
    assert result.accuracy == pytest.approx(0.7)
    # p_e = 0.5*0.6 + 0.5*0.4 = 0.5 -> kappa = (0.7 - 0.5) / 0.5
    assert result.kappa == pytest.approx(0.4)
    assert result.confusion["human_fail/grader_pass"] == 10


def test_kappa_undefined_when_every_label_is_the_same() -> None:
    assert cohen_kappa([True, True], [True, True]).kappa is None
