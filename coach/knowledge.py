"""The knowledge base: chunk principle cards and the user's own documents, store them in Chroma, search.

Chunk ids are stable (``<source key>#<n>``), so re-ingesting updates in place; chunks whose text did
not change are not re-embedded, and chunks of files that disappeared are deleted.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter

from coach.cards import PrincipleCard, parse_card, split_front_matter
from coach.config import Settings
from coach.embeddings import embed
from coach.errors import StoreError, UsageError
from coach.lexical import KeywordIndex
from coach.vectorstore import describe_location, open_collection

DOCUMENT_SUFFIXES = (".md", ".txt", ".markdown")
#: Files that describe a folder rather than hold knowledge.
_SKIP_NAMES = {"readme.md", "ids.txt"}


@dataclass(frozen=True)
class Chunk:
    """One piece of text to embed, with its metadata."""

    id: str
    text: str
    metadata: dict


@dataclass
class IngestReport:
    """What an ingest run did."""

    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)  # "path: reason"

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.files} files: {self.added} chunks added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.deleted} deleted, {len(self.skipped)} files skipped"
        )


@dataclass(frozen=True)
class SearchResult:
    """One search hit: a principle card, or a passage of the user's own document."""

    id: str            # card id, or the chunk id of a document passage
    kind: str          # "card" or "document"
    title: str
    summary: str       # card summary, or the passage text
    score: float       # relevance used for ranking, 0..1 (dense similarity fused with keyword match)
    source: str        # seed document and part for cards; the file path for documents
    applies_to: str = ""
    matched: str = ""  # the chunk text that matched best
    similarity: float = 0.0  # cosine similarity of the best-matching chunk, 0..1

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class SearchResponse:
    """Results plus any notice the user should see (e.g. the query was truncated)."""

    query: str
    results: list[SearchResult]
    notices: list[str] = field(default_factory=list)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _splitter(settings: Settings) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=min(settings.chunk_overlap, settings.chunk_size // 2),
        separators=["\n## ", "\n### ", "\n\n", "\n", ". ", " ", ""],
    )


def _sections(body: str) -> list[str]:
    """Body split at its ``## `` headings (heading lines dropped), without the closing source line."""
    sections, current = [], []
    for line in body.splitlines():
        if line.startswith("## ") or line.startswith("Source:"):
            if current:
                sections.append("\n".join(current).strip())
            current = []
            continue
        current.append(line)
    if current:
        sections.append("\n".join(current).strip())
    return [s for s in sections if s]


def card_chunks(card: PrincipleCard, key: str, root: str, settings: Settings) -> list[Chunk]:
    """Chunks of a card: its title and summary, how it sounds, what breaks it, and its body sections.

    Each chunk starts with the card title so that a passage still says which principle it is about.
    """
    base = {
        "kind": "card",
        "card_id": card.id,
        "title": card.title,
        "summary": card.summary,
        "source": f"{card.source.file} ({card.source.part}; {card.source.author})",
        "applies_to": ",".join(card.applies_to),
        # Booleans as well, because Chroma can filter on them (not on a substring of a string).
        "for_mentor": "mentor" in card.applies_to,
        "for_mentee": "mentee" in card.applies_to,
        "source_key": key,
        "root": root,
    }
    texts = [
        f"{card.title}. {card.summary}",
        f"{card.title}. A manager following it says: " + " ".join(f'"{s}"' for s in card.sounds_like),
    ]
    for section in _sections(card.body):
        texts += [f"{card.title}. {part}" for part in _splitter(settings).split_text(section)]
    return [
        Chunk(id=f"{key}#{n}", text=text, metadata={**base, "chunk": n, "hash": _hash(root + text)})
        for n, text in enumerate(texts)
    ]


def document_chunks(path: Path, text: str, key: str, root: str, settings: Settings) -> list[Chunk]:
    """Chunks of a user's own .md/.txt document."""
    title = path.stem.replace("_", " ").replace("-", " ").strip() or path.name
    base = {
        "kind": "document",
        "card_id": "",
        "title": title,
        "summary": "",
        "source": str(path),
        "applies_to": "",
        "source_key": key,
        "root": root,
    }
    pieces = [p for p in _splitter(settings).split_text(text) if p.strip()]
    return [
        Chunk(id=f"{key}#{n}", text=piece, metadata={**base, "chunk": n, "hash": _hash(root + piece)})
        for n, piece in enumerate(pieces)
    ]


def _read_text(path: Path, settings: Settings) -> str:
    """The file's text, or ValueError saying why it cannot be ingested."""
    size = path.stat().st_size
    if size > settings.max_ingest_bytes:
        raise ValueError(f"too large ({size} bytes; the limit is {settings.max_ingest_bytes}, COACH_MAX_INGEST_BYTES)")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (undecodable byte at offset {exc.start})") from exc
    if not text.strip():
        raise ValueError("empty file")
    return text


def _discover(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """(root, file) pairs for every document under the given paths."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        root = raw.expanduser().resolve()
        if not root.exists():
            raise UsageError(f"{raw}: no such file or folder")
        if root.is_file():
            found.append((root, root))
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in DOCUMENT_SUFFIXES and path.name.lower() not in _SKIP_NAMES:
                found.append((root, path))
    return found


def _chunks_for(root: Path, path: Path, settings: Settings) -> list[Chunk]:
    text = _read_text(path, settings)
    key = str(path)
    looks_like_card = path.suffix.lower() == ".md" and text.lstrip("\ufeff").startswith("---")
    if looks_like_card:
        meta, _ = split_front_matter(text)
        if "sounds_like" in meta:
            return card_chunks(parse_card(path), key, str(root), settings)
    return document_chunks(path, text, key, str(root), settings)


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> IngestReport:
    """Ingest files and folders into the knowledge store; returns what changed.

    ``progress`` wraps the file iterator (e.g. ``tqdm``) to show a progress bar.
    Unreadable files are skipped and named in the report; the rest are ingested.
    """
    collection = open_collection(settings)
    report = IngestReport()
    files = _discover(paths)
    roots = sorted({str(root) for root, _ in files} | {str(p.expanduser().resolve()) for p in paths})
    seen_ids: set[str] = set()
    card_sources: dict[str, str] = {}
    iterator: Iterable = progress(files) if progress else files
    for root, path in iterator:
        try:
            chunks = _chunks_for(root, path, settings)
        except (ValueError, UsageError, OSError) as exc:
            report.skipped.append(f"{path}: {exc}")
            # Keep what an earlier run stored for this file: a file that turned unreadable loses nothing.
            seen_ids.update(collection.get(where={"source_key": str(path)}, include=[])["ids"])
            continue
        report.files += 1
        _upsert_changed(collection, chunks, report)
        seen_ids.update(c.id for c in chunks)
        card_sources.update((c.metadata["card_id"], c.metadata["source_key"])
                            for c in chunks if c.metadata.get("kind") == "card")
    report.deleted += _delete_stale(collection, roots, seen_ids)
    report.deleted += _delete_moved_cards(collection, card_sources)
    invalidate_keyword_index()
    return report


def _upsert_changed(collection, chunks: list[Chunk], report: IngestReport) -> None:
    """Upsert only chunks that are new or whose text changed; drop extra chunks of a shrunk file."""
    if not chunks:
        return
    key = chunks[0].metadata["source_key"]
    existing = collection.get(where={"source_key": key}, include=["metadatas"])
    old = {i: (m or {}).get("hash") for i, m in zip(existing["ids"], existing["metadatas"])}
    changed = [c for c in chunks if old.get(c.id) != c.metadata["hash"]]
    for chunk in changed:
        if chunk.id in old:
            report.updated += 1
        else:
            report.added += 1
    report.unchanged += len(chunks) - len(changed)
    if changed:
        collection.upsert(
            ids=[c.id for c in changed],
            documents=[c.text for c in changed],
            metadatas=[c.metadata for c in changed],
            embeddings=embed([c.text for c in changed]),
        )
    extra = sorted(set(old) - {c.id for c in chunks})
    if extra:
        collection.delete(ids=extra)
        report.deleted += len(extra)


def _delete_moved_cards(collection, card_sources: dict[str, str]) -> int:
    """A principle card lives once in the store: drop chunks of the cards this run ingested
    (``card_sources``: card id -> source key) that were stored from another path.

    Chunk ids carry the file's path, so a moved checkout (or a second clone) would otherwise add
    every card a second time, and the duplicates skew both the dense and the keyword ranking.
    """
    if not card_sources:
        return 0
    stored = collection.get(where={"kind": "card"}, include=["metadatas"])
    moved = [
        chunk_id for chunk_id, meta in zip(stored["ids"], stored["metadatas"])
        if (meta or {}).get("card_id") in card_sources and meta.get("source_key") != card_sources[meta["card_id"]]
    ]
    if moved:
        collection.delete(ids=moved)
    return len(moved)


def _delete_stale(collection, roots: list[str], seen_ids: set[str]) -> int:
    """Delete chunks stored under the ingested roots that this run did not produce.

    That covers files that were deleted, files that became unreadable, and user files removed from a folder.
    """
    stale: list[str] = []
    for root in roots:
        stored = collection.get(where={"root": root}, include=[])
        stale.extend(chunk_id for chunk_id in stored["ids"] if chunk_id not in seen_ids)
    if stale:
        collection.delete(ids=stale)
    return len(stale)


def is_empty(settings: Settings) -> bool:
    """True when the knowledge collection holds no chunks yet."""
    return open_collection(settings).count() == 0


def prepare_query(query: str, settings: Settings) -> tuple[str, list[str]]:
    """Validate and bound a query; returns the query to use and any notices."""
    if query is None or not str(query).strip():
        raise UsageError("the search query is empty: type a few words describing the situation")
    query = str(query).strip()
    notices: list[str] = []
    if len(query) > settings.max_query_chars:
        notices.append(
            f"query truncated from {len(query)} to {settings.max_query_chars} characters (COACH_MAX_QUERY_CHARS)"
        )
        query = query[: settings.max_query_chars]
    return query, notices


#: Weight of the keyword (BM25) score, normalised to 0..1 per query, against the dense cosine score.
KEYWORD_WEIGHT = 0.2
#: Dense candidates fetched from Chroma per query (chunks; enough to rank the best cards by their top two).
_DENSE_CANDIDATES = 64

_keyword_lock = threading.Lock()
_keyword_cache: dict[tuple[str, str], tuple[int, list[str], list[dict], list[str], KeywordIndex]] = {}


def invalidate_keyword_index() -> None:
    """Forget cached keyword indexes (ingest calls this after changing the store)."""
    with _keyword_lock:
        _keyword_cache.clear()


def _keyword_corpus(collection, settings: Settings, total: int):
    """(ids, metadatas, documents, index) of the whole collection, rebuilt when its size changes."""
    key = (describe_location(settings), settings.collection)
    with _keyword_lock:
        cached = _keyword_cache.get(key)
        if cached and cached[0] == total:
            return cached[1:]
        stored = collection.get(include=["documents", "metadatas"])
        ids, metas, docs = stored["ids"], [m or {} for m in stored["metadatas"]], stored["documents"]
        entry = (total, ids, metas, docs, KeywordIndex(docs))
        _keyword_cache[key] = entry
        return entry[1:]


def _result_key(chunk_id: str, meta: dict) -> str:
    """Chunks of one card collapse into one result; document passages stay separate."""
    return meta["card_id"] if meta.get("kind") == "card" else chunk_id


def search(
    query: str,
    settings: Settings,
    k: int = 5,
    applies_to: str | None = None,
    collection=None,
) -> SearchResponse:
    """The ``k`` best cards or document passages for a query, best first.

    Ranking fuses dense similarity (mean of a card's two best chunks) with BM25 keyword scores;
    ``score`` is that fused relevance scaled to 0..1, ``similarity`` the best chunk's cosine.
    ``applies_to`` ("mentor" or "mentee") keeps only cards for that role.
    """
    if k < 1:
        raise UsageError(f"-k must be at least 1 (got {k})")
    query, notices = prepare_query(query, settings)
    collection = collection if collection is not None else open_collection(settings)
    total = collection.count()
    if total == 0:
        raise StoreError(f"the knowledge store ({describe_location(settings)}) is empty: run `coach ingest` first")
    # Distances only: metadata and text come from the cached corpus, which is much cheaper than
    # having Chroma return them for every candidate.
    raw = collection.query(
        query_embeddings=embed([query]),
        n_results=min(total, _DENSE_CANDIDATES),
        where={f"for_{applies_to}": True} if applies_to else None,
        include=["distances"],
    )
    ids, metas, docs, index = _keyword_corpus(collection, settings, total)
    position = {chunk_id: n for n, chunk_id in enumerate(ids)}
    keyword = index.scores(query)
    top_keyword = float(keyword.max()) if keyword.size else 0.0

    def allowed(meta: dict) -> bool:
        return not applies_to or applies_to in str(meta.get("applies_to", "")).split(",")

    dense: dict[str, list[float]] = {}
    best: dict[str, tuple[str, dict]] = {}  # key -> (best chunk text, its metadata)
    for chunk_id, distance in zip(raw["ids"][0], raw["distances"][0]):
        n = position.get(chunk_id)
        if n is None or not allowed(metas[n]):
            continue  # added by another process since the cache was built; the next count change picks it up
        key = _result_key(chunk_id, metas[n])
        dense.setdefault(key, []).append(1.0 - float(distance))
        best.setdefault(key, (docs[n], metas[n]))
    lexical: dict[str, float] = {}
    for n_chunk, (chunk_id, meta, score) in enumerate(zip(ids, metas, keyword)):
        if score > 0 and allowed(meta):
            key = _result_key(chunk_id, meta)
            lexical[key] = max(lexical.get(key, 0.0), float(score) / top_keyword)
            best.setdefault(key, (docs[n_chunk], meta))

    # A card's chunk that did not make the candidate list is at most as similar as the last candidate.
    floor = min((sim for sims in dense.values() for sim in sims), default=0.0)

    def fused(key: str) -> float:
        sims = (sorted(dense.get(key, []), reverse=True) + [floor, floor])[:2]
        return sum(sims) / 2 + KEYWORD_WEIGHT * lexical.get(key, 0.0)

    ranked = sorted(best, key=fused, reverse=True)[:k]
    results = []
    for key in ranked:
        text, meta = best[key]
        results.append(SearchResult(
            id=key,
            kind="card" if meta.get("kind") == "card" else "document",
            title=str(meta.get("title", "")),
            summary=str(meta.get("summary") or text),
            score=round(max(0.0, fused(key)) / (1.0 + KEYWORD_WEIGHT), 4),
            similarity=round(max(0.0, *dense.get(key, [0.0])), 4),
            source=str(meta.get("source", "")),
            applies_to=str(meta.get("applies_to", "")),
            matched=text,
        ))
    return SearchResponse(query=query, results=results, notices=notices)
