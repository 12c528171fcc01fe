"""kizuna (絆): an open-source, self-hosted Customer Success platform for subscription businesses."""

__version__ = "0.1.0"
