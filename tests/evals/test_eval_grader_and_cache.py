"""The rubric grader's strict JSON verdicts and the on-disk cache of model calls, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.config import Settings
from coach.llm import get_chat_model, user
from evals.cache import CachedChatModel, CallCache, CallTotals, CostCeilingReached, ModelUnreachable, RunGuard
from evals.grader import MAX_ATTEMPTS, VerdictError, grade, parse_verdict
from tests.llm_servers import Reply, ScriptedServer, completion_body
from tests.servers import free_port

VALID = '{"pass": true, "score": 0.8, "reason": "It asks before advising."}'


@pytest.mark.parametrize("text", [VALID, f"```json\n{VALID}\n```", f"  {VALID}\n"])
def test_valid_verdicts_parse(text: str) -> None:
    verdict = parse_verdict(text)
    assert (verdict.passed, verdict.score, verdict.reason) == (True, 0.8, "It asks before advising.")


@pytest.mark.parametrize(("text", "words"), [
    ("The output passes the rubric.", "not valid JSON"),
    (f"Sure! {VALID}", "not valid JSON"),  # never fished out of prose
    ('{"pass": "yes", "score": 0.8, "reason": "x"}', "'yes' is not of type 'boolean'"),
    ('{"pass": true, "score": 1.5, "reason": "x"}', "1.5 is greater than the maximum"),
    ('{"pass": true, "score": 0.5, "reason": "x", "extra": 1}', "Additional properties"),
    ('{"pass": true, "score": 0.5}', "'reason' is a required property"),
    ('{"pass": true, "score": 0.5, "reason": ""}', "should be non-empty"),
    (f"[{VALID}]", "is not of type 'object'"),
])
def test_invalid_verdicts_are_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(VerdictError, match=words):
        parse_verdict(text)


def _grader_settings(home: Path, url: str, **extra) -> Settings:
    return Settings(home=home, grader_provider="openai", grader_model="gpt-4o-mini", openai_base_url=url,
                    openai_api_key="test-key", max_retries=0, timeout=5, **extra)


def _model(settings: Settings, *, repeat: int = 0, cache: bool = True, guard: RunGuard | None = None,
           totals: CallTotals | None = None) -> CachedChatModel:
    return CachedChatModel(lambda: get_chat_model(settings, "grader"), settings, "grader",
                           cache=CallCache(settings.cache_dir / "evals" if cache else None), guard=guard or RunGuard(),
                           totals=totals if totals is not None else CallTotals(), repeat=repeat)


def test_invalid_json_is_retried_with_the_problem_then_parsed(tmp_path: Path) -> None:
    replies = [Reply("json", body=completion_body("I think it passes.")), Reply("json", body=completion_body(VALID))]
    with ScriptedServer(replies) as server:
        graded = grade(_model(_grader_settings(tmp_path, server.base_url)), "Asks first.", "Would it help if...", "draft")
    assert graded.attempts == 2 and graded.verdict.passed is True
    retry = server.requests[1].body["messages"]
    assert retry[-2] == {"role": "assistant", "content": "I think it passes."}
    assert "not valid JSON" in retry[-1]["content"]


def test_retries_are_bounded_then_the_verdict_is_errored(tmp_path: Path) -> None:
    with ScriptedServer([Reply("json", body=completion_body("PASS"))]) as server:
        graded = grade(_model(_grader_settings(tmp_path, server.base_url)), "r", "o", "i")
    assert len(server.requests) == MAX_ATTEMPTS
    assert graded.verdict.passed is None
    assert f"no valid JSON verdict in {MAX_ATTEMPTS} answers" in graded.verdict.reason


def test_grader_prompt_carries_rubric_output_and_input(tmp_path: Path) -> None:
    with ScriptedServer([Reply("json", body=completion_body(VALID))]) as server:
        grade(_model(_grader_settings(tmp_path, server.base_url)), "RUBRIC-X", "OUTPUT-Y", "INPUT-Z")
    body = server.requests[0].body
    last = body["messages"][-1]["content"]
    assert "RUBRIC-X" in last and "OUTPUT-Y" in last and "INPUT-Z" in last
    assert body["messages"][0]["role"] == "system" and body["temperature"] == 0.0


def test_cache_hit_skips_the_server_and_repeat_index_is_part_of_the_key(tmp_path: Path) -> None:
    settings = _grader_settings(tmp_path, "")
    with ScriptedServer([Reply("json", body=completion_body(VALID))]) as server:
        settings = _grader_settings(tmp_path, server.base_url)
        totals = CallTotals()
        first = _model(settings, totals=totals).complete([user("hello")], max_tokens=20)
        again = _model(settings, totals=totals).complete([user("hello")], max_tokens=20)
        assert len(server.requests) == 1
        assert again.text == first.text and again.usage.prompt_tokens == first.usage.prompt_tokens
        assert (totals.calls, totals.cached_calls) == (1, 1)
        _model(settings, repeat=1).complete([user("hello")], max_tokens=20)
        assert len(server.requests) == 2
        assert server.requests[1].body["seed"] == server.requests[0].body["seed"] + 1
        _model(settings).complete([user("hello")], max_tokens=21)  # another parameter: another key
        assert len(server.requests) == 3
        _model(settings, cache=False).complete([user("hello")], max_tokens=20)  # --no-cache
        assert len(server.requests) == 4


def test_a_corrupt_cache_entry_is_a_miss(tmp_path: Path) -> None:
    with ScriptedServer([Reply("json", body=completion_body(VALID))]) as server:
        settings = _grader_settings(tmp_path, server.base_url)
        _model(settings).complete([user("hello")])
        [entry] = list((settings.cache_dir / "evals").rglob("*.json"))
        entry.write_text("{not json", encoding="utf-8")
        assert _model(settings).complete([user("hello")]).text == VALID
        assert len(server.requests) == 2
        assert json.loads(entry.read_text(encoding="utf-8"))["text"] == VALID


def test_cost_ceiling_stops_further_calls(tmp_path: Path) -> None:
    guard = RunGuard(max_cost_usd=0.000001)
    with ScriptedServer([Reply("json", body=completion_body(VALID))]) as server:
        settings = _grader_settings(tmp_path, server.base_url)
        _model(settings, guard=guard).complete([user("one")])
        assert guard.spent_usd > 0.000001  # 11 prompt + 3 completion tokens of gpt-4o-mini
        with pytest.raises(CostCeilingReached, match="cost ceiling reached"):
            _model(settings, guard=guard).complete([user("two")])
        assert len(server.requests) == 1
        _model(settings, guard=guard).complete([user("one")])  # a cached answer costs nothing: still allowed


def test_unreachable_model_fails_later_calls_at_once(tmp_path: Path) -> None:
    guard = RunGuard()
    settings = _grader_settings(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ModelUnreachable, match="cannot reach"):
        _model(settings, guard=guard).complete([user("one")])
    with pytest.raises(ModelUnreachable, match="earlier in this run"):
        _model(settings, guard=guard).complete([user("two")])
