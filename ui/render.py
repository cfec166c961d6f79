"""HTML rendering of coach results for the web app. Every user-supplied string is escaped."""

from __future__ import annotations

from html import escape

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
