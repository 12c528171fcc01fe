"""VoC text mining, Japanese first (see docs/voc.md)."""
