"""kizuna (絆): an open-source, self-hosted Customer Success platform for subscription businesses."""

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from kizuna.analysts import Hub


def connect(location: "str | Path | None" = None) -> "Hub":
    """The hub of a kizuna installation for analysis (Ibis tables and pandas frames): see :mod:`kizuna.analysts`.

    Loaded when called, so ``import kizuna`` stays light."""
    from kizuna.analysts import connect as connect_hub

    return connect_hub(location)
