"""Report writers: JSON, JUnit XML, Markdown (for a pull-request comment), single-file HTML, terminal text.

Every writer takes the report dict built by :func:`evals.report.build_report`, so all formats say
the same thing and any of them can be rebuilt from a saved ``report.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coach.errors import UsageError
from evals.reports.html import render_html
from evals.reports.junit import render_junit
from evals.reports.markdown import render_markdown

WRITERS = {
    "json": lambda report: json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n",
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}
DEFAULT_NAMES = {"json": "report.json", "junit": "junit.xml", "markdown": "summary.md", "html": "report.html"}


def write_reports(report: Mapping[str, Any], targets: Mapping[str, Path]) -> dict[str, Path]:
    """Write each format to its path (atomically: a reader never sees half a file); returns what was written."""
    written = {}
    for kind, path in targets.items():
        text = WRITERS[kind](report)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except OSError as exc:
            raise UsageError(f"cannot write the {kind} report to {path}: {exc.strerror or exc}") from exc
        written[kind] = path
    return written
