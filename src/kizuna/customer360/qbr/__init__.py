"""The QBR / EBR deck of an account: its content (``content``), drawn as PowerPoint (``slides``) and as PDF (``pdf``),
kept as files by what they show (``files``)."""
