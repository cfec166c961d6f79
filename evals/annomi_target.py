"""The ``annomi`` target: the analyzer's accuracy on AnnoMI's fixed test split, as named metrics.

The data lives outside the repository (``../shared/data/external/annomi``); when it is absent the
cases are *skipped* with the reason, never failed. The scoring itself is the analyzer's own
(``coach analyze-eval``, :mod:`coach.analyzer.evaluate`), so this suite and that command always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from coach.config import Settings
from evals.targets import TargetSkipped, TargetUnavailable

#: The analyzer's AnnoMI scorer (module, function) provided by the analyzer work.
SCORER = ("coach.analyzer.evaluate", "annomi_metrics")


def data_folder(annomi_dir: str | Path | None) -> Path:
    """The AnnoMI folder; :class:`TargetSkipped` with the reason when its CSV is not there."""
    from coach.analyzer import annomi

    folder = annomi.resolve_dir(annomi_dir)
    if not (folder / annomi.FULL_CSV).is_file():
        raise TargetSkipped(
            f"AnnoMI data not found ({folder / annomi.FULL_CSV} is missing): the shared data folder is not on "
            "this machine, so the AnnoMI accuracy cases are skipped"
        )
    return folder


def annomi_metrics(settings: Settings, annomi_dir: str | Path | None = None) -> Mapping[str, float]:
    """Flat ``{name: value}`` figures of the analyzer on the test split (e.g. ``question_f1``)."""
    import importlib

    folder = data_folder(annomi_dir)
    module, function = SCORER
    try:
        scorer = getattr(importlib.import_module(module), function)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise TargetUnavailable(f"target not available: the analyzer's AnnoMI scorer {module}.{function} "
                                f"is not in this build ({exc})") from None
    return dict(scorer(folder, split="test"))
