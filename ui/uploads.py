"""Upload of the user's own .md/.txt documents into the knowledge store (Principles tab).

Each accepted upload is copied to ``COACH_HOME/documents/<its name>`` (a stable path, so uploading
a new version of a file updates its passages instead of adding a second copy) and ingested with
:func:`coach.knowledge.ingest`. A file is rejected, by name and with the reason, when it is not
.md/.txt, is larger than ``COACH_MAX_INGEST_BYTES``, or ingest refuses it (binary, not UTF-8,
empty): the knowledge store and the documents folder are then exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from coach.config import Settings
from coach.knowledge import DOCUMENT_SUFFIXES, ingest

Wrap = Callable[[Iterable], Iterable]


@dataclass
class UploadReport:
    """What happened to each uploaded file."""

    added: list[str] = field(default_factory=list)                   # file names ingested
    rejected: list[tuple[str, str]] = field(default_factory=list)    # (file name, reason)
    summary: str = ""

    def html(self) -> str:
        """The report for the page (names escaped)."""
        parts = []
        if self.added:
            parts.append('<p class="ok">Added to the knowledge store: ' + ", ".join(escape(n) for n in self.added)
                         + (f" ({escape(self.summary)})" if self.summary else "") + "</p>")
        for name, reason in self.rejected:
            parts.append(f'<div class="notice rejected"><b>{escape(name)}</b> was rejected: {escape(reason)}</div>')
        return '<div class="upload-report">' + "".join(parts) + "</div>"


def documents_dir(settings: Settings) -> Path:
    """Where uploaded documents are kept."""
    return settings.home / "documents"


def _precheck(path: Path, settings: Settings) -> str | None:
    """Why a file cannot be ingested before it is even copied (type, size), or None."""
    if path.suffix.lower() not in DOCUMENT_SUFFIXES:
        kind = f"a {path.suffix} file" if path.suffix else "a file without an extension"
        return f"only {', '.join(DOCUMENT_SUFFIXES)} documents can be added (this is {kind})"
    size = path.stat().st_size
    if size > settings.max_ingest_bytes:
        return f"too large ({size:,} bytes; the limit is {settings.max_ingest_bytes:,}, COACH_MAX_INGEST_BYTES)"
    return None


def add_documents(settings: Settings, uploads: Sequence[str | Path], progress: Wrap | None = None) -> UploadReport:
    """Copy the acceptable uploads to the documents folder and ingest them (``progress`` wraps the file loop)."""
    report = UploadReport()
    folder = documents_dir(settings)
    staged: dict[Path, tuple[str, bytes | None]] = {}   # target -> (shown name, previous content)
    for upload in uploads:
        source = Path(upload)
        name = source.name
        problem = _precheck(source, settings)
        if problem:
            report.rejected.append((name, problem))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target in staged:
            report.rejected.append((name, "uploaded twice in one go; the first copy is used"))
            continue
        previous = target.read_bytes() if target.exists() else None
        target.write_bytes(source.read_bytes())
        staged[target] = (name, previous)
    if not staged:
        return report
    result = ingest(list(staged), settings, progress=progress)
    skipped = {}
    for line in result.skipped:  # "path: reason"
        path, _, reason = line.partition(": ")
        skipped[Path(path)] = reason
    for target, (name, previous) in staged.items():
        reason = skipped.get(target.resolve()) or skipped.get(target)
        if reason is None:
            report.added.append(name)
            continue
        report.rejected.append((name, reason))
        # ingest kept whatever the store held for this file; put the file on disk back the same way
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(previous)
    if report.added:
        report.summary = f"{result.added} passages added, {result.updated} updated, {result.unchanged} unchanged"
    return report
