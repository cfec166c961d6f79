"""Uploading the user's own documents into the knowledge store (Principles tab), against a real Chroma store."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.config import Settings
from coach.knowledge import search
from coach.vectorstore import open_collection
from ui.principles import search_principles
from ui.uploads import add_documents, documents_dir


def snapshot(settings: Settings) -> tuple[int, list[str]]:
    collection = open_collection(settings)
    return collection.count(), sorted(collection.get(include=[])["ids"])


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def test_a_markdown_upload_becomes_searchable(ingested_settings: Settings, uploads: Path) -> None:
    doc = write(uploads, "walk-and-talk.md",
                b"# Walking one-on-ones\n\nTake the one-on-one outside: a walking meeting around the block "
                b"lowers the stakes and people talk more freely side by side than across a desk.\n")
    seen: list[int] = []

    def progress(items):
        for item in items:
            seen.append(1)
            yield item

    report = add_documents(ingested_settings, [str(doc)], progress=progress)
    assert report.added == ["walk-and-talk.md"] and report.rejected == [] and seen == [1]
    assert (documents_dir(ingested_settings) / "walk-and-talk.md").is_file()
    hits = search("walking meeting around the block side by side", ingested_settings, k=5).results
    assert any(h.kind == "document" and h.source.endswith("walk-and-talk.md") for h in hits)
    assert "your document" in search_principles("walking meeting side by side", "any", ingested_settings)
    assert "Added to the knowledge store" in report.html()


def test_binary_huge_and_wrong_type_files_are_rejected_by_name_and_the_store_is_unchanged(
        ingested_settings: Settings, uploads: Path) -> None:
    before = snapshot(ingested_settings)
    files = [
        write(uploads, "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        write(uploads, "huge.md", b"word " * (ingested_settings.max_ingest_bytes // 5 + 10)),
        write(uploads, "slides.pdf", b"%PDF-1.7 fake"),
        write(uploads, "latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1")),
        write(uploads, "<img src=x onerror=alert(1)>.md", b""),
    ]
    report = add_documents(ingested_settings, [str(f) for f in files])
    reasons = dict(report.rejected)
    assert report.added == []
    assert "binary" in reasons["photo.txt"]
    assert "too large" in reasons["huge.md"] and "COACH_MAX_INGEST_BYTES" in reasons["huge.md"]
    assert "only .md" in reasons["slides.pdf"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["<img src=x onerror=alert(1)>.md"]
    assert snapshot(ingested_settings) == before
    assert not any(documents_dir(ingested_settings).glob("*"))  # nothing left behind on disk
    html = report.html()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.md" in html and "photo.txt" in html


def test_a_bad_new_version_keeps_the_good_old_one(ingested_settings: Settings, uploads: Path) -> None:
    good = write(uploads, "notes.md", b"Ask what they already tried before you suggest anything at all.\n")
    assert add_documents(ingested_settings, [str(good)]).added == ["notes.md"]
    before = snapshot(ingested_settings)
    bad_folder = uploads / "later"
    bad_folder.mkdir()
    bad = write(bad_folder, "notes.md", b"\x00\x01binary now")
    report = add_documents(ingested_settings, [str(bad)])
    assert report.added == [] and "binary" in dict(report.rejected)["notes.md"]
    assert snapshot(ingested_settings) == before
    assert (documents_dir(ingested_settings) / "notes.md").read_bytes() == good.read_bytes()
