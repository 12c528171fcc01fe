"""The app's caches: one value per database and key, for a while, then computed again."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kizuna.platform import cache


def test_a_value_is_kept_per_database_and_key_until_it_expires(session: Session) -> None:
    calls: list[str] = []
    kept: cache.TtlCache[str] = cache.TtlCache(ttl=60.0, size=4)

    def compute(value: str) -> str:
        calls.append(value)
        return value

    assert kept.get(session, "a", lambda: compute("first")) == "first"
    assert kept.get(session, "a", lambda: compute("second")) == "first"  # kept
    assert kept.get(session, "b", lambda: compute("other")) == "other"  # another key
    for key in "cdef":  # past the size: the oldest go
        kept.get(session, key, lambda: compute("x"))
    assert kept.get(session, "a", lambda: compute("again")) == "again"
    cache.clear_all()
    assert kept.get(session, "b", lambda: compute("cleared")) == "cleared"
    expired: cache.TtlCache[str] = cache.TtlCache(ttl=0.0)
    expired.get(session, "a", lambda: compute("one"))
    assert expired.get(session, "a", lambda: compute("two")) == "two"
    assert calls == ["first", "other", "x", "x", "x", "x", "again", "cleared", "one", "two"]
