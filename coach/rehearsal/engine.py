"""The rehearsal engine: one :class:`Rehearsal` per session, over the store, a scenario and a model.

Per manager turn, :meth:`Rehearsal.coach_turn` runs without any model call (analyzer -> state
update -> store -> coaching notes, cards and a "try instead" line), then
:meth:`Rehearsal.persona_reply` streams the persona's checked answer and stores it when done.
:meth:`Rehearsal.end` writes the debrief's scores; :meth:`Rehearsal.rewind` branches the session.

Every piece of a session's state lives in its :class:`Rehearsal` object or in the store under its
session id; nothing is kept at module level, so sessions in one process never see each other's state.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence

from coach.analyzer import analyze, find_spans
from coach.analyzer.model import AnalysisContext
from coach.cards import PrincipleCard, card_index
from coach.config import Settings, get_settings
from coach.errors import CoachError, StoreError, UsageError
from coach.llm import ChatModel, get_chat_model
from coach.rehearsal.coaching import (
    Coaching,
    CoachingRules,
    Searcher,
    default_coaching_rules,
    notes,
    pick_cards,
    rank_findings,
    try_instead,
)
from coach.rehearsal.debrief import Debrief, debrief
from coach.rehearsal.export import session_json, session_markdown
from coach.rehearsal.models import EmployeeState, Scenario, SessionInfo, TurnRecord
from coach.rehearsal.persona import PersonaReply, PersonaRequest, ReplyOutcome, persona_reply
from coach.rehearsal.scenarios import get_scenario
from coach.rehearsal.state import StateRules, default_rules, effective_kind_rules, initial_state, update_state
from coach.store import Store

_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


def validate_turn(text: object, limit: int, name: str = "them") -> str:
    """The manager's turn, stripped; :class:`UsageError` (nothing recorded) when it is empty,
    longer than ``limit`` characters, or not text (control characters, broken encoding)."""
    if not isinstance(text, str):
        raise UsageError(f"a turn must be text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"empty turn: type what you would say to {name}. Nothing was recorded.")
    if len(stripped) > limit:
        raise UsageError(
            f"your turn is {len(stripped)} characters; the limit is {limit} (COACH_MAX_TURN_CHARS). "
            "Say it in fewer words, as you would in a real conversation. Nothing was recorded."
        )
    bad = next((ch for ch in stripped if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS), None)
    if bad is not None:
        raise UsageError(f"your turn contains the control character U+{ord(bad):04X} (binary data?). Nothing was recorded.")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("your turn is not valid text (broken Unicode encoding). Nothing was recorded.") from None
    return stripped


def card_searcher(settings: Settings) -> Searcher | None:
    """Search over the ingested knowledge store, opened on first use; None when there is no store yet."""
    if not settings.chroma_host and not settings.chroma_dir.exists():
        return None  # no `coach ingest` yet: never create an empty store as a side effect
    from coach.knowledge import search
    from coach.vectorstore import open_collection

    opened: list = []

    def run(query: str, k: int, applies_to: str) -> list[tuple[str, float]]:
        try:
            if not opened:
                opened.append(open_collection(settings))
            response = search(query, settings, k=k, applies_to=applies_to, collection=opened[0])
        except CoachError:
            raise
        except Exception as exc:  # chromadb's own errors: reported as a store problem, the turn goes on
            raise StoreError(f"knowledge search failed ({exc.__class__.__name__}: {exc})") from exc
        return [(r.id, r.score) for r in response.results if r.kind == "card"]

    return run


class Rehearsal:
    """One rehearsal session (a branch made by rewind is a session of its own).

    Thread-safe for use from one thread at a time; different sessions may run in different
    threads (the store gives each thread its own connection; the local model serves one at a time).
    """

    def __init__(self, store: Store, scenario: Scenario, session: SessionInfo, *, settings: Settings | None = None,
                 model: ChatModel | None = None, searcher: Searcher | None = None) -> None:
        if session.scenario_id != scenario.id:
            raise UsageError(f"session {session.id} is of scenario {session.scenario_id!r}, not {scenario.id!r}")
        self.store = store
        self.scenario = scenario
        self.session = session
        self.settings = settings or get_settings()
        self._model = model
        self._searcher = searcher if searcher is not None else card_searcher(self.settings)
        self._state = store.current_state(session.id)
        self._rules: StateRules = default_rules()
        self._coaching: CoachingRules = default_coaching_rules()
        self._cards: dict[str, PrincipleCard] = card_index(self.settings.knowledge_dir / "principles")
        self._pending: PersonaReply | None = None  # a reply being streamed

    # --- opening and reopening -------------------------------------------------------------------

    @classmethod
    def start(cls, scenario_ref: str | Scenario, *, settings: Settings | None = None, store: Store | None = None,
              model: ChatModel | None = None, searcher: Searcher | None = None) -> Rehearsal:
        """A new session of a scenario (id, .yaml path, or a loaded :class:`Scenario`); the persona's
        opening line is stored as turn 0.

        An unknown id raises :class:`UsageError` listing the valid ids.
        """
        settings = settings or get_settings()
        # A loaded scenario (the web app keeps its library in memory) is used as is: loading by id
        # reads and validates every scenario file again.
        scenario = scenario_ref if isinstance(scenario_ref, Scenario) else get_scenario(scenario_ref, settings)
        store = store or Store(settings.db_path)
        session = store.create_session(scenario.id, initial_state(scenario))
        store.add_turn(session.id, "employee", scenario.opening_line)
        return cls(store, scenario, session, settings=settings, model=model, searcher=searcher)

    @classmethod
    def resume(cls, session_id: str, *, settings: Settings | None = None, store: Store | None = None,
               model: ChatModel | None = None, searcher: Searcher | None = None) -> Rehearsal:
        """Reopen a stored session (after a restart or a crash) where it stopped."""
        settings = settings or get_settings()
        store = store or Store(settings.db_path)
        session = store.get_session(session_id)
        return cls(store, get_scenario(session.scenario_id, settings), session, settings=settings, model=model,
                   searcher=searcher)

    # --- reading ---------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id."""
        return self.session.id

    @property
    def state(self) -> EmployeeState:
        """The persona's state now."""
        return self._state

    @property
    def ended(self) -> bool:
        """True once :meth:`end` ran for this session."""
        return self.session.ended_at is not None

    def turns(self) -> list[TurnRecord]:
        """The conversation so far (for a branch: the shared turns, then its own)."""
        return self.store.turns(self.id)

    def manager_turns(self) -> list[TurnRecord]:
        """The manager's turns; the n-th (1-based) is what ``rewind(n)`` takes again."""
        return [t for t in self.turns() if t.role == "manager"]

    @property
    def model(self) -> ChatModel:
        """The chat model, resolved on first use (coaching alone never loads it)."""
        if self._model is None:
            self._model = get_chat_model(self.settings)
        return self._model

    def warm_up(self) -> None:
        """Load the analyzer, its classifier and the knowledge search now, so the first turn is fast."""
        sample = "It sounds like that was hard. What happened?"
        find_spans(sample)
        analyze(sample)
        if self._searcher is not None:
            try:
                self._searcher(sample, 1, "mentor")
            except CoachError:
                pass  # reported on the first real turn, with the turn's coaching

    # --- a turn ----------------------------------------------------------------------------------

    def coach_turn(self, text: str) -> Coaching:
        """Analyse and store one manager turn, update the persona's state, and return the coaching.

        No model call. Bad input raises :class:`UsageError` and records nothing.
        """
        clean = validate_turn(text, self.settings.max_turn_chars, self.scenario.persona.words()["name"])
        if self.ended:
            raise UsageError(f"session {self.id} has ended; rewind to take another path from an earlier turn")
        if self._pending is not None and not self._pending.done:
            # The manager spoke before the reply finished (a UI may allow it): drop the unfinished
            # reply, so it can never be stored after this turn.
            self._pending.close()
        self._pending = None
        path = self.turns()
        employee = [t.text for t in path if t.role == "employee"]
        managers = [t.text for t in path if t.role == "manager"]
        before = self._state
        context = AnalysisContext(
            permission_asked="permission" in before.kinds_seen,
            prev_client_text=employee[-1] if employee else "",
            previous_manager_turns=tuple(managers),
        )
        analysis = analyze(clean, context)
        after, changes = update_state(before, analysis, self.scenario, self._rules)
        record = self.store.add_turn(self.id, "manager", clean, analysis=analysis, state=after, changes=changes)
        self._state = after
        ranked = rank_findings(analysis.findings, effective_kind_rules(self._rules, self.scenario))
        applies_to = "mentee" if self.scenario.family == "mentee-side" else "mentor"
        cards, card_notices = pick_cards(clean, ranked, self._cards, max_cards=self._coaching.max_cards,
                                         applies_to=applies_to, search=self._searcher)
        if self._searcher is None:
            card_notices.append("run `coach ingest` to see related principle cards as well as the cited ones")
        return Coaching(
            turn_index=record.index,
            turn_number=len(managers) + 1,
            text=clean,
            notes=tuple(notes(analysis)),
            findings=tuple(analysis.findings),
            cards=tuple(cards),
            try_instead=try_instead(analysis, ranked, self.scenario, self._coaching),
            changes=tuple(changes),
            before=before,
            after=after,
            opened_up=len(after.unlocked) - len(before.unlocked),
            behaviour=analysis.behaviour,
            notices=(*analysis.notices, *card_notices),
        )

    def persona_reply(self) -> PersonaReply:
        """Stream the persona's checked answer to the last manager turn; stored once complete."""
        path = self.turns()
        if not path or path[-1].role != "manager":
            raise UsageError("there is nothing to answer yet: say something first")
        last = path[-1]
        request = PersonaRequest(scenario=self.scenario, state=self._state, history=path[:-1],
                                 manager_line=last.text, turn_number=sum(t.role == "manager" for t in path))

        def store_reply(outcome: ReplyOutcome) -> TurnRecord:
            return self.store.add_turn(self.id, "employee", outcome.text)

        if self._pending is not None and not self._pending.done:
            self._pending.close()  # one reply at a time per session
        self._pending = persona_reply(self.model, request, seed=self.settings.seed, on_done=store_reply)
        return self._pending

    def say(self, text: str) -> tuple[Coaching, PersonaReply]:
        """:meth:`coach_turn` then :meth:`persona_reply` (iterate the reply to stream it)."""
        coaching = self.coach_turn(text)
        return coaching, self.persona_reply()

    # --- end, rewind, export ---------------------------------------------------------------------

    def debrief(self) -> Debrief:
        """The debrief of the conversation so far (nothing is written)."""
        return debrief(self.scenario, self.turns(), self.session.initial_state)

    def end(self) -> Debrief:
        """End the session: compute the debrief and store its scores (once; later calls only read)."""
        result = self.debrief()
        if not self.ended:
            self.session = self.store.end_session(self.id, result.score_map(), result.evidence_counts())
        return result

    def rewind(self, turn_number: int) -> Rehearsal:
        """A new branch that takes your ``turn_number``-th line (1-based) again; both paths are kept.

        The branch starts from the persona's state before that line.
        """
        managers = self.manager_turns()
        if not managers:
            raise UsageError("nothing to rewind yet: you have not said anything in this session")
        if not isinstance(turn_number, int) or not 1 <= turn_number <= len(managers):
            raise UsageError(f"rewind takes the number of one of your lines: 1 to {len(managers)}")
        branch = self.store.branch(self.id, managers[turn_number - 1].index)
        return Rehearsal(self.store, self.scenario, branch, settings=self.settings, model=self._model,
                         searcher=self._searcher)

    def export(self, fmt: str = "markdown") -> str:
        """The session as Markdown or JSON text (with the debrief once ended)."""
        turns = self.turns()
        result = debrief(self.scenario, turns, self.session.initial_state) if self.ended else None
        if fmt in ("markdown", "md"):
            return session_markdown(self.session, turns, result, self.scenario)
        if fmt == "json":
            return json.dumps(session_json(self.session, turns, result, self.scenario), indent=2, ensure_ascii=False)
        raise UsageError(f"unknown export format {fmt!r}: use markdown or json")


def list_scenarios(settings: Settings | None = None) -> list[Scenario]:
    """Every loadable scenario (built-in and the user's), sorted by family then id."""
    from coach.rehearsal.scenarios import load_library

    lib = load_library(settings or get_settings())
    return sorted(lib.scenarios.values(), key=lambda s: (s.family, s.id))


def last_employee_line(turns: Sequence[TurnRecord]) -> str:
    """What the persona said last (the opening line at the start)."""
    return next((t.text for t in reversed(turns) if t.role == "employee"), "")
