"""Shared wording of figures in the human-readable reports (Markdown, HTML, terminal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def pct(value: float | None) -> str:
    """``0.9583`` -> ``95.8%``; None -> ``-``."""
    return "-" if value is None else f"{100 * value:.1f}%"


def rate(prop: Mapping[str, Any] | None) -> str:
    """A pass rate with its Wilson 95% interval and counts, e.g. ``95.8% [86.0-98.8] (46/48)``."""
    if not prop or not prop.get("n"):
        return "-"
    return f"{pct(prop['rate'])} [{100 * prop['low']:.1f}-{100 * prop['high']:.1f}] ({prop['successes']}/{prop['n']})"


def scores(suite: Mapping[str, Any]) -> str:
    """Mean scores with standard errors, e.g. ``similar 0.81±0.02``."""
    parts = [f"{name} {s['mean']:.3f}±{s['se']:.3f}" for name, s in (suite.get("scores") or {}).items()]
    return ", ".join(parts) or "-"


def tokens(totals: Mapping[str, Any]) -> str:
    """Fresh and cached calls, tokens and cost."""
    if not totals.get("calls") and not totals.get("cached_calls"):
        return "-"
    text = f"{int(totals.get('prompt_tokens', 0)) + int(totals.get('completion_tokens', 0))} tok, {int(totals.get('calls', 0))} calls"
    if totals.get("cached_calls"):
        text += f" (+{int(totals['cached_calls'])} cached)"
    if totals.get("cost_usd"):
        text += f", ${totals['cost_usd']:.4f}"
    return text


def seconds(value: float | None) -> str:
    """``12.345`` -> ``12.3 s``."""
    return "-" if value is None else (f"{value:.1f} s" if value >= 0.1 else f"{1000 * value:.0f} ms")


def gate_text(gate: Mapping[str, Any]) -> str:
    """``analyzer pass_rate 0.958 >= 0.9``."""
    actual = "n/a" if gate.get("actual") is None else f"{gate['actual']:.3f}"
    return f"{gate['suite']} {gate['metric']} {actual} {gate['op']} {gate['threshold']:g}"


def model_graded(suite: Mapping[str, Any]) -> str:
    """The suite's rubric pass rate and whether it gates."""
    if not suite.get("rubric"):
        return "-"
    return rate(suite["rubric"]) + ("" if suite.get("rubric_gating") else " (not gating)")
