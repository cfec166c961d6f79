"""HTML for the Rewrite tab: the live drafting log, the verification checklist and a side-by-side diff.

Presentation only, every string escaped. The diff is word-level (difflib) so a reader sees which
of their words were kept, dropped and added.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from coach.rewrite import RewriteEvent, RewriteResult
from ui.render import notices_html
from ui.render_coach import CHECK, CROSS, ELLIPSIS

#: Words with their trailing space (so a run of removed words reads as one strike-through).
_TOKENS = re.compile(r"^\s+|\S+\s*")
PATH_LABELS = {
    "model": "written by the model, verified first time",
    "model-repaired": "written by the model, repaired after the verifier's feedback",
    "fallback": "deterministic rewrite (analyzer fixes + story templates)",
    "unchanged": "kept as written: no directive advice found",
}


@dataclass
class DraftingLog:
    """What the rewrite stream has done so far, for the live view."""

    pieces: int = 0
    cards: list[str] = field(default_factory=list)
    current: str = ""          # the model's words for the piece being written (unverified)
    current_piece: int = -1
    attempt: int = 0
    lines: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def add(self, event: RewriteEvent) -> None:
        """Fold one stream event into the log."""
        if event.type == "start":
            self.pieces = event.pieces
            self.cards = [c.title for c in event.cards]
        elif event.type == "token":
            if (event.piece, event.attempt) != (self.current_piece, self.attempt):
                self.current, self.current_piece, self.attempt = "", event.piece, event.attempt
            self.current += event.text
        elif event.type == "attempt_failed":
            self.lines.append(f"attempt {event.attempt} failed verification: {'; '.join(event.reasons)}")
            self.current = ""
        elif event.type == "piece_done":
            self.lines.append(f"advice sentence done ({PATH_LABELS.get(event.path, event.path)}): {event.text}")
            self.current = ""
        elif event.type == "notice":
            self.notices.append(event.text)

    def html(self, done: bool = False) -> str:
        """The log as HTML; the unverified draft in progress is marked as such."""
        head = (f"Rewriting {self.pieces} advice sentence{'s' if self.pieces != 1 else ''}"
                if self.pieces else "Checking the draft")
        if self.cards:
            head += " with " + ", ".join(self.cards)
        parts = [f'<p class="log-head">{escape(head)}{"" if done else " " + ELLIPSIS}</p>']
        parts += [f'<div class="log-line">{escape(line)}</div>' for line in self.lines]
        if self.current and not done:
            parts.append(f'<div class="drafting" title="not verified yet">{escape(self.current)}</div>')
        parts.append(notices_html(self.notices))
        return '<div class="rewrite-log">' + "".join(parts) + "</div>"


def checklist_html(result: RewriteResult) -> str:
    """The verification checklist with the path that produced the rewrite and the cards it used."""
    items = "".join(
        f'<li class="{"pass" if c.passed else "fail"}"><span class="mark">{CHECK if c.passed else CROSS}</span> '
        f"<b>{escape(c.label)}</b> <span class=\"detail\">{escape(c.detail)}</span></li>"
        for c in result.checklist
    )
    verdict = "Verified" if result.verified else "Not verified"
    path = PATH_LABELS.get(result.path, result.path)
    model = f" \u00b7 model {escape(result.model)}" if result.model else ""
    cards = ""
    if result.cards:
        cards = '<p class="used">Principles used: ' + ", ".join(escape(c.title) for c in result.cards) + "</p>"
    return (
        f'<div class="checklist"><p><span class="badge path">{escape(result.path)}</span> {verdict}: '
        f"{escape(path)}{model}</p><ul>{items}</ul>{cards}</div>"
    )


def _runs(text: str) -> list[str]:
    return _TOKENS.findall(text)


def diff_html(before: str, after: str) -> str:
    """Draft and rewrite side by side; removed words struck through on the left, added ones marked on the right."""
    a, b = _runs(before), _runs(after)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(old)
            right.append(new)
            continue
        if old:
            left.append(f"<del>{old}</del>")
        if new:
            right.append(f"<ins>{new}</ins>")
    return (
        '<div class="diff"><div class="side"><h4>Your draft</h4><div class="text">' + "".join(left) + "</div></div>"
        '<div class="side"><h4>Rewrite</h4><div class="text">' + "".join(right) + "</div></div></div>"
    )


def result_notices(result: RewriteResult, extra: Sequence[str] = ()) -> str:
    """The rewrite's notices (and any of the app's own) as notice boxes."""
    return notices_html([*extra, *result.notices])
