"""kizuna's analytics core: a pure library (no web, no ORM). Tables or frames in, tidy frames out."""
