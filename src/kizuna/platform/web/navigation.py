"""The app's navigation: each domain lists its pages as :class:`NavLink` entries (in ``kizuna.domains``) and the
sidebar shows them grouped by :data:`SECTIONS`, so every page is one click from any other.

A link's label is a catalogue key (``nav.<name>``); ``admin`` links are shown to administrators only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: the sidebar's sections, in order: a CSM's day first, then the manager's figures, the analyst's tools, the admin's
SECTIONS: tuple[str, ...] = ("work", "revenue", "customers", "voice", "operations", "admin")


@dataclass(frozen=True)
class NavLink:
    section: str
    url: str
    label: str
    admin: bool = False
    #: place within the section (lower first; equal ranks keep the order of ``kizuna.domains``)
    rank: int = 50

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise ValueError(f"navigation section {self.section!r} is not one of {SECTIONS}")


def grouped(links: Iterable[NavLink], *, is_admin: bool) -> list[tuple[str, list[NavLink]]]:
    """``[(section, links)]`` in :data:`SECTIONS` order, links in the order given; empty sections left out."""
    visible = sorted((link for link in links if is_admin or not link.admin), key=lambda link: link.rank)
    return [
        (s, [link for link in visible if link.section == s])
        for s in SECTIONS
        if any(link.section == s for link in visible)
    ]


def active_url(links: Iterable[NavLink], path: str) -> str | None:
    """The link the page at ``path`` belongs to: the most specific one that matches (``/voc/analytics`` is VoC
    analysis, not the VoC list)."""
    matching = [link.url for link in links if is_active(link, path)]
    return max(matching, key=len) if matching else None


def is_active(link: NavLink, path: str) -> bool:
    if link.url == "/":
        return path == "/"
    return path == link.url or path.startswith(link.url.rstrip("/") + "/")
