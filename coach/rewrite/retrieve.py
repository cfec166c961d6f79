"""The principle cards a rewrite uses: those the draft's findings cite, then the best search hits.

Cited principles come first (they are why the sentence is being rewritten); the knowledge search
fills the remaining places. Without an ingested store the cited cards are still used, read straight
from knowledge/principles, and a notice says how to get retrieval.
"""

from __future__ import annotations

from coach.cards import card_index
from coach.config import Settings
from coach.errors import CoachError
from coach.rewrite.segment import Segmented
from coach.rewrite.types import CardRef

CARDS_USED = 3


def cards_for(segmented: Segmented, settings: Settings, k: int = CARDS_USED) -> tuple[list[CardRef], list[str]]:
    """``(cards, notices)``: up to ``k`` cards for the draft, cited ones first."""
    notices: list[str] = []
    try:
        index = card_index(settings.knowledge_dir / "principles")
    except CoachError as exc:
        return [], [f"principle cards unavailable: {exc}"]
    cited: list[str] = []
    for advice in segmented.advice:
        for principle in advice.principles:
            if principle in index and principle not in cited:
                cited.append(principle)
    cards = [
        CardRef(id=c, title=index[c].title, summary=index[c].summary, cited=True) for c in cited[:k]
    ]
    if len(cards) < k:
        query = " ".join(a.sentence for a in segmented.advice) or segmented.text
        try:
            from coach.knowledge import search

            found = search(query[: settings.max_query_chars], settings, k=k + len(cards)).results
        except CoachError as exc:
            notices.append(f"no cards retrieved, only the cards the findings cite: {exc}")
            found = []
        for hit in found:
            if len(cards) >= k:
                break
            if hit.kind == "card" and hit.id not in {c.id for c in cards}:
                cards.append(CardRef(id=hit.id, title=hit.title, summary=hit.summary, cited=False, score=hit.score))
    return cards, notices
