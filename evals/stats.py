"""Statistics of an eval run: pass rules, confidence intervals, standard errors, noise-aware drops, kappa.

Pure functions over numbers; nothing here knows about cases or files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

#: z for a two-sided 95% interval.
Z95 = 1.959963984540054

_PASS_AT = re.compile(r"^pass@([1-9][0-9]*)$")
PASS_RULES_HELP = "all, majority or pass@K (K = 1.. number of repeats)"


def parse_pass_rule(rule: str, repeat: int | None = None) -> str:
    """The rule normalised (``all``, ``majority`` or ``pass@K``); ``ValueError`` names what is wrong.

    ``pass@K`` needs ``K <= repeat`` when ``repeat`` is given: K attempts must exist to pass at K.
    """
    text = str(rule).strip().lower()
    if text in ("all", "majority"):
        return text
    match = _PASS_AT.match(text)
    if not match:
        raise ValueError(f"unknown pass rule {rule!r}; use {PASS_RULES_HELP}")
    if repeat is not None and int(match.group(1)) > repeat:
        raise ValueError(f"pass rule {rule!r} needs at least {match.group(1)} repeats (--repeat is {repeat})")
    return text


def case_passes(outcomes: Sequence[bool], rule: str) -> bool:
    """Verdict of one case from its attempts (in repeat order) under ``rule``.

    ``all``: every attempt passed. ``majority``: more than half passed. ``pass@K``: at least one of
    the first K attempts passed (the attempts a user with K tries would have seen).
    """
    if not outcomes:
        raise ValueError("a case needs at least one attempt")
    rule = parse_pass_rule(rule, len(outcomes))
    if rule == "all":
        return all(outcomes)
    if rule == "majority":
        return sum(outcomes) * 2 > len(outcomes)
    k = int(rule.split("@", 1)[1])
    return any(outcomes[:k])


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of the chance that at least one of ``k`` samples passes (Chen et al., 2021).

    ``n`` attempts were made and ``c`` passed: ``1 - C(n-c, k) / C(n, k)``.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@dataclass(frozen=True)
class Proportion:
    """A pass rate with its Wilson 95% interval."""

    successes: int
    n: int
    rate: float
    low: float
    high: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"successes": self.successes, "n": self.n, "rate": self.rate, "low": self.low, "high": self.high}


def wilson(successes: int, n: int, z: float = Z95) -> Proportion:
    """Pass rate and Wilson score interval (good at small n and at rates near 0 or 1, unlike p ± z·se)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n (successes={successes}, n={n})")
    if n == 0:
        return Proportion(0, 0, 0.0, 0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Proportion(successes, n, p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class MeanSE:
    """Mean of scores with its standard error (sample standard deviation / sqrt(n))."""

    mean: float
    se: float
    n: int

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"mean": self.mean, "se": self.se, "n": self.n}


def mean_se(values: Sequence[float]) -> MeanSE:
    """Mean and standard error; one value has a standard error of 0 (no spread observed)."""
    if not values:
        raise ValueError("mean_se needs at least one value")
    n = len(values)
    mean = math.fsum(values) / n
    if n == 1:
        return MeanSE(mean, 0.0, 1)
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return MeanSE(mean, math.sqrt(variance / n), n)


@dataclass(frozen=True)
class Drop:
    """A metric compared with a baseline: the change, its noise (standard error) and whether it is real."""

    baseline: float
    current: float
    delta: float
    se: float
    significant: bool


def _judge(baseline: float, current: float, se: float, z: float) -> Drop:
    delta = current - baseline
    # With no noise at all (se == 0, e.g. a deterministic suite at 100% both times) any drop is real.
    significant = delta < 0 and (delta < -z * se if se > 0 else True)
    return Drop(baseline, current, delta, se, significant)


def proportion_drop(base_k: int, base_n: int, now_k: int, now_n: int, z: float = Z95) -> Drop:
    """Has a pass rate dropped beyond sampling noise? Two-proportion z-test (unpooled standard error)."""
    if base_n < 1 or now_n < 1:
        raise ValueError("both runs need at least one case to compare")
    p1, p2 = base_k / base_n, now_k / now_n
    se = math.sqrt(p1 * (1 - p1) / base_n + p2 * (1 - p2) / now_n)
    return _judge(p1, p2, se, z)


def mean_drop(base: MeanSE, now: MeanSE, z: float = Z95) -> Drop:
    """Has a mean score dropped by more than ``z`` combined standard errors?"""
    return _judge(base.mean, now.mean, math.sqrt(base.se**2 + now.se**2), z)


@dataclass(frozen=True)
class Agreement:
    """How far a grader agrees with a person on pass/fail verdicts."""

    n: int
    accuracy: float
    kappa: float | None  # None when chance agreement is 1 (every verdict the same label on both sides)
    confusion: dict[str, int]  # keys "human_pass/grader_pass", ...


def cohen_kappa(human: Sequence[bool], grader: Sequence[bool]) -> Agreement:
    """Accuracy and Cohen's kappa of two lists of pass/fail verdicts on the same items."""
    if len(human) != len(grader):
        raise ValueError(f"need as many grader verdicts as human ones ({len(grader)} vs {len(human)})")
    n = len(human)
    if n == 0:
        raise ValueError("kappa needs at least one item")
    both = sum(h and g for h, g in zip(human, grader))
    neither = sum((not h) and (not g) for h, g in zip(human, grader))
    observed = (both + neither) / n
    h_pass, g_pass = sum(human) / n, sum(grader) / n
    expected = h_pass * g_pass + (1 - h_pass) * (1 - g_pass)
    kappa = None if math.isclose(expected, 1.0) else (observed - expected) / (1 - expected)
    confusion = {
        "human_pass/grader_pass": both,
        "human_pass/grader_fail": sum(h and not g for h, g in zip(human, grader)),
        "human_fail/grader_pass": sum((not h) and g for h, g in zip(human, grader)),
        "human_fail/grader_fail": neither,
    }
    return Agreement(n, observed, kappa, confusion)
