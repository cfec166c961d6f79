"""The ``annomi`` target: the analyzer's accuracy on AnnoMI's fixed test split, as named metrics.

The data lives outside the repository (``../shared/data/external/annomi``); when it is absent the
cases are *skipped* with the reason, never failed. The scoring itself is the analyzer's own
(``coach analyze-eval``, :func:`coach.commands.analyze_eval.evaluate`), so this suite and that command
always report the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from coach.config import Settings
from evals.targets import TargetSkipped, TargetUnavailable

#: The analyzer's AnnoMI scorer (module, function): ``evaluate(annomi_dir) -> report``.
SCORER = ("coach.commands.analyze_eval", "evaluate")


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
    """Flat ``{name: value}`` figures of the analyzer on the test split: ``question_f1`` etc. overall,
    ``high.question_f1`` etc. per mi_quality."""
    import importlib

    folder = data_folder(annomi_dir)
    module, function = SCORER
    try:
        scorer = getattr(importlib.import_module(module), function)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise TargetUnavailable(f"target not available: the analyzer's AnnoMI scorer {module}.{function} "
                                f"is not in this build ({exc})") from None
    report = scorer(folder)
    metrics = {k: float(v) for k, v in report["overall"].items() if _number(v)}
    for quality, figures in report.get("by_mi_quality", {}).items():
        metrics.update({f"{quality}.{k}": float(v) for k, v in figures.items() if _number(v)})
    return metrics


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
