"""The sidebar: every link of every domain is a page of the real app, grouped by section, admin links hidden from
others; the catalogues of every domain merge without a key defined twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts

from kizuna.domains import DOMAINS
from kizuna.platform.web import i18n
from kizuna.platform.web.navigation import SECTIONS, NavLink, active_url, grouped, is_active
from kizuna.settings import Settings
from kizuna.web.app import create_app


def test_every_link_is_a_page_of_the_app_and_labelled_in_both_languages(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    pages = {r.path for r in iter_route_contexts(app.routes) if r.methods and "GET" in r.methods}
    links = app.state.navigation
    assert links == tuple(link for d in DOMAINS for link in d.nav)
    assert {link.url for link in links} <= pages
    for language in i18n.LANGUAGES:
        words = i18n.catalogue(language)
        for link in links:
            assert link.label in words, (language, link.label)
        for section in SECTIONS:
            assert f"nav.section.{section}" in words


def test_sections_in_order_ranked_and_admin_links_for_admins() -> None:
    links = [
        NavLink("admin", "/settings", "nav.settings", admin=True),
        NavLink("work", "/tasks", "nav.tasks"),
        NavLink("work", "/me", "nav.cockpit", rank=0),
        NavLink("revenue", "/", "nav.dashboard"),
    ]
    assert [(s, [link.url for link in ls]) for s, ls in grouped(links, is_admin=False)] == [
        ("work", ["/me", "/tasks"]),
        ("revenue", ["/"]),
    ]
    assert grouped(links, is_admin=True)[-1][0] == "admin"
    with pytest.raises(ValueError, match="section"):
        NavLink("nowhere", "/x", "nav.x")


def test_active_link_is_the_page_or_one_below_it() -> None:
    voc = NavLink("voice", "/voc", "nav.voc")
    assert is_active(voc, "/voc") and is_active(voc, "/voc/analytics")
    assert not is_active(voc, "/vocabulary")
    assert is_active(NavLink("revenue", "/", "nav.dashboard"), "/")
    assert not is_active(NavLink("revenue", "/", "nav.dashboard"), "/me")
    analysis = NavLink("voice", "/voc/analytics", "nav.voc_analytics")
    assert active_url([voc, analysis], "/voc/analytics") == "/voc/analytics"
    assert active_url([voc, analysis], "/voc") == "/voc"
    assert active_url([voc, analysis], "/tasks") is None


def test_a_label_defined_in_two_catalogues_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "platform" / "web" / "locales"
    domain = tmp_path / "voc" / "locales"
    for folder, words in ((shared, {"a": "A", "b": "B"}), (domain, {"b": "again"})):
        folder.mkdir(parents=True)
        (folder / "ja.json").write_text(json.dumps(words), encoding="utf-8")
    monkeypatch.setattr(i18n, "_LOCALES", shared)
    monkeypatch.setattr(i18n, "_PACKAGE", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match="'b' is defined in"):
            i18n.catalogue("ja")
    finally:
        monkeypatch.undo()
        i18n.catalogue.cache_clear()


def test_names_from_the_customers_data_are_marked_as_data_in_our_sentences() -> None:
    from kizuna.platform.web.templating import data_words

    html = str(data_words("直近1週間のdashboard createdが月のペースより89%少ない、<NPS>の回答なし"))
    assert html == (
        '直近1週間の<span translate="no">dashboard created</span>が月のペースより89%少ない、&lt;NPS&gt;の回答なし'
    )
    assert str(data_words("report viewed fell 40% & more", "en")) == "report viewed fell 40% &amp; more"
