"""Reading UTF-8 text from a FILE argument or stdin, for commands that take ``[FILE|-]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from coach.errors import UsageError

BOM = "\ufeff"


def read_utf8(file: str, max_bytes: int, *, too_large: str, reader: str) -> str:
    """The decoded text of FILE (``-`` = stdin), BOM kept; raises :class:`UsageError` on unusable input.

    ``too_large`` finishes "<name> ..." when more than ``max_bytes`` bytes arrive; ``reader`` names the
    command in the binary-file message.
    """
    name = "stdin" if file == "-" else file
    try:
        if file == "-":
            stream = getattr(sys.stdin, "buffer", None)
            raw = stream.read(max_bytes + 1) if stream is not None else sys.stdin.read(max_bytes + 1).encode("utf-8", "surrogateescape")
        else:
            path = Path(file)
            if path.is_dir():
                raise UsageError(f"{file} is a directory; give a text file or - for stdin")
            with path.open("rb") as handle:
                raw = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise UsageError(f"{file}: no such file") from exc
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise UsageError(f"{name} {too_large}")
    if b"\x00" in raw:
        raise UsageError(f"{name} looks like a binary file (it contains NUL bytes); {reader} reads UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name} is not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 and try again"
        ) from exc
