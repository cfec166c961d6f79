"""HTML rendering of coach results for the web app. Every user-supplied string is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from coach.analyzer.model import Finding
from coach.knowledge import SearchResponse


def results_html(response: SearchResponse) -> str:
    """Search results as cards: title, summary, score and source document."""
    parts = [f'<div class="notice">{escape(n)}</div>' for n in response.notices]
    if not response.results:
        parts.append('<p class="empty">No matching principles.</p>')
    for result in response.results:
        badge = "principle" if result.kind == "card" else "your document"
        roles = f' · for {escape(result.applies_to.replace(",", " & "))}' if result.applies_to else ""
        parts.append(
            '<article class="card">'
            f'<header><h3>{escape(result.title)}</h3><span class="score" title="similarity">{result.score:.2f}</span></header>'
            f"<p>{escape(result.summary)}</p>"
            f'<footer><span class="badge">{badge}</span>{roles} · source: {escape(result.source)}'
            f' · <code>{escape(result.id)}</code></footer>'
            "</article>"
        )
    return '<div class="cards">' + "".join(parts) + "</div>"


# --- highlighted spans (Rehearse coach panel and Rewrite tab) ------------------------------------

_BAD = "#e5484d"
_KIND_COLOURS = {
    "permission": "#12a594", "story": "#12a594", "handback": "#12a594", "humility": "#12a594",
    "question-open": "#3e63dd", "question-closed": "#8b8d98",
    "reflection-simple": "#8e4ec6", "reflection-complex": "#8e4ec6", "summary": "#8e4ec6",
    "reassurance": "#30a46c", "effort": "#30a46c", "purpose": "#30a46c", "action-plan": "#30a46c",
    "directive": _BAD, "advice-unasked": _BAD, "judgmental": _BAD,
}
#: Most important first when spans overlap: what broke a principle, then what followed one.
_POLARITY_ORDER = {"bad": 0, "good": 1, "neutral": 2}


def span_label(kind: str, polarity: str) -> str:
    """The legend label of a highlighted span: the kind, marked with a cross when it broke a principle."""
    return f"{kind} \u2717" if polarity == "bad" else kind


def highlight_colours(kinds: Sequence[str]) -> dict[str, str]:
    """``color_map`` for ``gr.HighlightedText``: every kind, and its crossed (bad) variant in red."""
    colours = {kind: _KIND_COLOURS.get(kind, "#8b8d98") for kind in kinds}
    colours.update({span_label(kind, "bad"): _BAD for kind in kinds})
    return colours


def highlight_segments(text: str, findings: Sequence[Finding]) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, label) runs for ``gr.HighlightedText``; overlapping findings are
    split at every boundary and each run takes the most important finding covering it."""
    if not text:
        return []
    spans = [f for f in findings if f.length > 0 and 0 <= f.offset < len(text)]
    cuts = sorted({0, len(text), *(f.offset for f in spans), *(min(len(text), f.offset + f.length) for f in spans)})
    runs: list[tuple[str, str | None]] = []
    for start, end in zip(cuts, cuts[1:]):
        covering = [f for f in spans if f.offset <= start and end <= f.offset + f.length]
        label = None
        if covering:
            top = min(covering, key=lambda f: (_POLARITY_ORDER.get(f.polarity, 3), f.offset, -f.length))
            label = span_label(top.kind, top.polarity)
        if runs and runs[-1][1] == label:
            runs[-1] = (runs[-1][0] + text[start:end], label)
        else:
            runs.append((text[start:end], label))
    return runs


def findings_html(findings: Sequence[Finding], empty: str = "Nothing to flag.") -> str:
    """One line per finding: its kind, the quoted words and the message (all escaped)."""
    if not findings:
        return f'<p class="empty">{escape(empty)}</p>'
    items = [finding_item(f.kind, f.polarity, f.text, f.message, f.principle)
             for f in sorted(findings, key=lambda f: (f.offset, f.kind))]
    return '<ul class="findings">' + "".join(items) + "</ul>"


def finding_item(kind: str, polarity: str, quote: str, message: str, principle: str = "") -> str:
    """One finding as a list item: its kind, the quoted words, the message and (optionally) the principle."""
    label = escape(span_label(kind, polarity))
    tail = f' <span class="principle">{escape(principle)}</span>' if principle else ""
    return (f'<li class="finding {escape(polarity)}"><span class="kind">{label}</span> '
            f"<q>{escape(quote)}</q>: {escape(message)}{tail}</li>")


def notices_html(notices: Sequence[str]) -> str:
    """Notices as escaped notice boxes ("" when there are none)."""
    return "".join(f'<div class="notice">{escape(n)}</div>' for n in notices if n)
