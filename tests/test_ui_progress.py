"""The Progress tab's handlers over a real session database."""

from __future__ import annotations

import pytest

from coach.config import Settings
from coach.errors import UsageError
from ui.context import AppContext
from ui.progress import overall, progress_frame, reopen, session_choices, sessions_frame
from ui.rehearse import end_session, start_session, take_turn

SCENARIO = "customer-blowup"


@pytest.fixture
def ctx(ingested_settings: Settings) -> AppContext:
    return AppContext.create(ingested_settings)


def ended_session(ctx: AppContext, *lines: str) -> str:
    sid, *_ = start_session(ctx, SCENARIO)
    for line in lines:
        take_turn(ctx, sid, line)
    end_session(ctx, sid)
    return sid


def test_empty_history_gives_empty_tables(ctx: AppContext) -> None:
    assert sessions_frame(ctx).empty and progress_frame(ctx).empty and session_choices(ctx) == []


def test_sessions_table_and_principle_lines_over_time(ctx: AppContext) -> None:
    first = ended_session(ctx, "You should just send the email.")
    second = ended_session(ctx, "It sounds like that hurt. What happened?")
    open_sid, *_ = start_session(ctx, SCENARIO)
    table = sessions_frame(ctx)
    assert list(table.Session) == [open_sid, second, first]        # newest first
    assert list(table.Status) == ["in progress", "ended", "ended"]
    assert table.Overall.iloc[0] == "" and all(isinstance(v, int) for v in table.Overall.iloc[1:])
    assert set(table.Scenario) == {ctx.scenario(SCENARIO).title}
    frame = progress_frame(ctx)
    assert list(frame.columns) == ["session", "principle", "score", "ended"]
    assert frame.ended.is_monotonic_increasing and frame.score.between(0, 100).all()
    assert list(dict.fromkeys(frame.session)) == ["1", "2"]
    stored = ctx.store.get_session(second)
    assert overall(stored) == round(sum(stored.scores.values()) / len(stored.scores))
    assert [sid for _, sid in session_choices(ctx)] == [open_sid, second, first]


def test_reopen_is_read_only_and_shows_the_debrief(ctx: AppContext) -> None:
    sid = ended_session(ctx, "It sounds like that hurt. What happened?")
    turns_before = ctx.open(sid).turns()
    view = reopen(ctx, sid)
    assert [m["role"] for m in view.chat] == ["assistant", "user"]
    assert "overall" in view.debrief and not view.scorecard.empty
    assert list(dict.fromkeys(x for x, _, _ in view.chart["data"])) == ["start", "1"]
    assert ctx.open(sid).turns() == turns_before


def test_reopening_an_unfinished_session_says_so(ctx: AppContext) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    assert "not ended" in reopen(ctx, sid).debrief
    with pytest.raises(UsageError, match="unknown session"):
        reopen(ctx, "nosuchsession")
