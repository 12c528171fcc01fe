"""The exception used for bad input: :class:`kizuna.errors.InvalidInput` (a ``ValueError``)."""

from __future__ import annotations

from kizuna.errors import InvalidInput

__all__ = ["InvalidInput"]
