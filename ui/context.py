"""Resources the whole app shares: settings, the session database handle, the scenario library,
the knowledge search and the model status. Never a conversation: each browser session keeps only
its session id (in ``gr.State``) and every handler reopens the session from the store by that id.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from coach.config import Settings
from coach.errors import UsageError
from coach.llm import ChatModel
from coach.rehearsal.engine import Rehearsal, card_searcher, list_scenarios
from coach.rehearsal.models import Scenario
from coach.store import Store
from ui.status import ModelStatus, StatusCache, persona_model


@dataclass
class AppContext:
    """Built once per app by :func:`AppContext.create`; handlers receive it."""

    settings: Settings
    store: Store
    scenarios: dict[str, Scenario]
    export_dir: Path
    status: StatusCache
    _searcher: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> AppContext:
        """Open the session database and load the scenarios (no model is loaded here)."""
        scenarios = {s.id: s for s in list_scenarios(settings)}
        export_dir = Path(tempfile.mkdtemp(prefix="coach-exports-"))
        return cls(settings=settings, store=Store(settings.db_path), scenarios=scenarios, export_dir=export_dir,
                   status=StatusCache(settings))

    @property
    def searcher(self):
        """Knowledge search for the coach panel; None until a store exists (checked again each time)."""
        with self._lock:
            if self._searcher is None:
                self._searcher = card_searcher(self.settings)
            return self._searcher

    def model_status(self) -> ModelStatus:
        """The (cached) status of the chat model."""
        return self.status.get()

    def scenario(self, scenario_id: str) -> Scenario:
        """A scenario of the library by id (UsageError for an unknown one)."""
        try:
            return self.scenarios[scenario_id]
        except KeyError:
            raise UsageError(f"unknown scenario {scenario_id!r}; pick one from the list") from None

    def warm_up(self) -> list[str]:
        """Load what the first coach panel update needs (embedding model, behaviour classifier,
        knowledge search and its keyword index) before anyone visits, so the first visitor does
        not wait about a second for it. Returns what could not be warmed (never raises: a missing
        store or a broken part shows up, with its reason, when it is used)."""
        from coach.analyzer import analyze
        from coach.errors import CoachError

        problems: list[str] = []
        try:
            analyze("It sounds like that was hard. What happened?")
        except CoachError as exc:
            problems.append(f"analyzer: {exc}")
        search = self.searcher
        if search is None:
            problems.append("knowledge search: no store yet (run `coach ingest`)")
        else:
            try:
                search("listening before giving advice", 2, "mentor")
            except CoachError as exc:
                problems.append(f"knowledge search: {exc}")
        return problems

    def start(self, scenario_id: str) -> Rehearsal:
        """A new rehearsal of a scenario."""
        return Rehearsal.start(self.scenario(scenario_id), settings=self.settings, store=self.store,
                               model=persona_model(self.model_status(), self.settings), searcher=self.searcher)

    def open(self, session_id: str | None, model: ChatModel | None = None) -> Rehearsal:
        """Reopen a session by id (every handler does this: no conversation lives in memory).

        ``model`` overrides the chat model (default: the real one, or the stand-in when it is down).
        """
        if not session_id:
            raise UsageError("start a rehearsal first: pick a scenario and press Start")
        info = self.store.get_session(session_id)
        scenario = self.scenarios.get(info.scenario_id) or self.scenario(info.scenario_id)
        model = model or persona_model(self.model_status(), self.settings)
        return Rehearsal(self.store, scenario, info, settings=self.settings, model=model, searcher=self.searcher)
