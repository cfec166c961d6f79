"""The deterministic rewrite (no model): verified for every eval draft, and the shape of the result."""

from __future__ import annotations

import pytest

from coach.analyzer import find_spans
from coach.analyzer.model import AnalysisContext
from coach.config import PROJECT_ROOT, Settings
from coach.errors import UsageError
from coach.rewrite import CHECKS, rewrite, rewrite_stream
from coach.rewrite.config import load_config
from coach.rewrite.quality import load_drafts

DRAFTS = load_drafts(PROJECT_ROOT / "evals" / "datasets" / "rewrite.jsonl")


def test_dataset_is_big_and_varied() -> None:
    assert len(DRAFTS) >= 80
    assert len({d.id for d in DRAFTS}) == len(DRAFTS)
    tags = {t for d in DRAFTS for t in d.tags}
    for wanted in ("short", "long", "single", "multi", "polite", "already-good", "non-english", "typos", "injection"):
        assert wanted in tags, wanted


@pytest.mark.parametrize("draft", DRAFTS, ids=[d.id for d in DRAFTS])
def test_fallback_passes_verification_for_every_draft(settings: Settings, draft) -> None:
    result = rewrite(draft.draft, settings=settings, use_model=False)
    assert result.verified, [c for c in result.checklist if not c.passed]
    assert [c.name for c in result.checklist] == [name for name, _ in CHECKS]
    assert result.path in ("fallback", "unchanged")
    # The analyzer, run independently on the output, agrees: nothing directive, nothing unasked.
    findings = find_spans(result.text, AnalysisContext(), None)
    assert not [f for f in findings if f.kind in ("directive", "advice-unasked") and f.level != "suggestion"]
    for piece in result.pieces:
        for specific in piece.specifics:
            assert specific in piece.text
    if draft.expect == "keep":
        assert result.text == draft.draft and result.path == "unchanged"
    if draft.expect == "frame":
        assert draft.draft.strip() in result.text and result.path == "unchanged"


def test_non_advice_text_is_kept_verbatim_in_place(settings: Settings) -> None:
    draft = ("Thanks for the update. You need to set clearer expectations with the team. "
             "Let me know how it goes.")
    result = rewrite(draft, settings=settings, use_model=False)
    assert result.text.startswith("Thanks for the update. ")
    assert result.text.endswith(" Let me know how it goes.")
    assert "set clearer expectations with the team" in result.text


def test_one_opener_and_one_handback_for_several_pieces(settings: Settings) -> None:
    draft = "You should meet Ana before the review. Don't bring the slides. Ask her what she expects."
    result = rewrite(draft, settings=settings, use_model=False)
    assert len(result.pieces) == 3
    kinds = [f.kind for f in find_spans(result.text, AnalysisContext(), None)]
    assert kinds.count("permission") == 1
    config = load_config(settings.knowledge_dir)
    assert sum(result.text.count(h) for h in config.handbacks) == 1
    assert any(result.text.endswith(h) for h in config.handbacks)
    assert "not to bring the slides" in result.text


def test_permission_from_the_conversation_means_no_opener(settings: Settings) -> None:
    result = rewrite("You should call Dana first.", settings=settings, use_model=False,
                     context=AnalysisContext(permission_asked=True))
    assert not [f for f in find_spans(result.text, AnalysisContext(), None) if f.kind == "permission"]
    assert result.verified
    assert result.checklist[0].detail == "permission was given earlier in the conversation"


def test_cards_cite_the_principles_of_the_findings(settings: Settings) -> None:
    result = rewrite("Obviously you need to prepare more for the QBR.", settings=settings, use_model=False)
    ids = [c.id for c in result.cards]
    assert {"first-person-story", "ask-permission", "level-the-learning-field"} <= set(ids)
    assert all(c.cited and c.title for c in result.cards)


def test_without_a_store_the_cited_cards_are_used_with_a_notice(settings: Settings) -> None:
    result = rewrite("You should call Dana before Friday.", settings=settings, use_model=False)
    assert [c.id for c in result.cards] == ["first-person-story", "ask-permission"]
    assert any("no cards retrieved" in n and "coach ingest" in n for n in result.notices)


def test_cards_fill_up_from_retrieval(ingested_settings: Settings) -> None:
    result = rewrite("You should call Dana before Friday.", settings=ingested_settings, use_model=False)
    assert len(result.cards) == 3
    assert [c.cited for c in result.cards] == [True, True, False]
    assert result.cards[2].score is not None
    assert not any("no cards retrieved" in n for n in result.notices)


def test_stream_without_model_ends_with_the_result(settings: Settings) -> None:
    events = list(rewrite_stream("You should call Dana before Friday.", settings, use_model=False))
    types = [e.type for e in events]
    assert types[-1] == "result" and "start" in types and types.count("piece_done") == 1
    assert "token" not in types
    assert events[-1].result is not None and events[-1].result.verified
    assert events[-1].to_dict()["result"]["path"] == "fallback"


@pytest.mark.parametrize(("draft", "message"), [
    ("", "the draft is empty"),
    ("   \n\t ", "contains only whitespace"),
    ("x\x00y", "NUL"),
])
def test_unusable_drafts_are_refused(settings: Settings, draft: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        rewrite(draft, settings=settings, use_model=False)


def test_draft_over_the_limit_names_it(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    with pytest.raises(UsageError, match=r"102,400 characters, over the limit of 20,000 \(COACH_MAX_DRAFT_CHARS\)"):
        rewrite("a" * 102_400, settings=settings, use_model=False)
    monkeypatch.setenv("COACH_MAX_DRAFT_CHARS", "200")
    from coach.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(UsageError, match="limit of 200"):
        rewrite("You should call Dana. " * 10, settings=get_settings(), use_model=False)


def test_unicode_rtl_emoji_and_lone_surrogates(settings: Settings) -> None:
    result = rewrite("You should ask שרה and محمد to review the copy 🎉.", settings=settings, use_model=False)
    assert "שרה" in result.text and "محمد" in result.text and "🎉" in result.text
    broken = rewrite("You should call Dana \ud800 today.", settings=settings, use_model=False)
    assert broken.verified and any("not valid Unicode" in n for n in broken.notices)
