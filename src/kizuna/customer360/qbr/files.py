"""Rendered decks kept on disk by what they show, so a deck is drawn once per change of its content.

Building a deck's content reads a few rows (milliseconds); drawing it is the heavy part (loading and subsetting the
Japanese font for the PDF, writing the PowerPoint's XML). A file is named by the account, the audience, the language
and a digest of the content and of the renderer's version: any new figure, goal or task gives a new digest, so a
kept file is never stale, and the web processes share the files. An account keeps only its latest file per audience,
language and format.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Literal

from kizuna.customer360.qbr.content import Deck

Format = Literal["pdf", "pptx"]
#: bump when a renderer draws differently: every kept file is drawn again
RENDER_VERSION = 3


def _render(deck: Deck, fmt: Format) -> bytes:
    if fmt == "pdf":
        from kizuna.customer360.qbr.pdf import render_pdf

        return render_pdf(deck)
    from kizuna.customer360.qbr.slides import render_pptx

    return render_pptx(deck)


def deck_path(deck: Deck, fmt: Format, directory: Path) -> Path:
    digest = hashlib.sha256(f"{RENDER_VERSION}:{fmt}:{deck!r}".encode()).hexdigest()[:20]
    return directory / f"qbr-{deck.account_id}-{deck.audience}-{deck.language}-{digest}.{fmt}"


def deck_file(deck: Deck, fmt: Format, *, directory: Path) -> bytes:
    """The deck drawn as ``fmt``: the kept file if its content has not changed, else drawn now and kept."""
    path = deck_path(deck, fmt, directory)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = _render(deck, fmt)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{path.name}.{uuid.uuid4().hex}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, path)  # readers see the whole file or none
    for older in directory.glob(f"qbr-{deck.account_id}-{deck.audience}-{deck.language}-*.{fmt}"):
        if older != path:
            older.unlink(missing_ok=True)
    return data


def is_kept(deck: Deck, fmt: Format, *, directory: Path) -> bool:
    return deck_path(deck, fmt, directory).is_file()
