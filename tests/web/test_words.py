"""Words, not keys: every page of the real app, on the demo, in Japanese and English, shows labels a person reads —
no catalogue key left untranslated, no raw identifier (``seat_utilisation``, ``None``, ``nan``), and in Japanese no
English word of the app's own vocabulary where a Japanese label belongs.

What a page shows is its text and the words of its controls (``title``, ``placeholder``, ``aria-label``, buttons'
values). Words that are not the app's are left out: what a page marks ``translate="no"`` (customer text such as
survey comments and VoC entries, reviewable configuration such as a playbook's YAML) and ``<pre>``, ``<code>`` and
``<textarea>`` contents, e-mail addresses and URLs.
"""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser

from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from kizuna.platform.web import i18n
from tests.web.demo_app import PUBLIC_MODULES, REDIRECTS, DemoApp, pages, url
from tests.web.fixtures import session_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

#: lower-case Latin words a Japanese page may show: names and units that are written this way in Japanese UIs too
JAPANESE_PAGE_MAY_SHOW = {"kizuna", "csv", "excel", "json", "api", "pdf", "pptx", "email", "e", "mail", "x", "vs"}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
RAW = re.compile(r"(?<![\w.])(None|nan|NaN|True|False|null|undefined)(?![\w.])")
LATIN_WORD = re.compile(r"(?<![\w@./:-])[a-z]{2,}(?![\w@./:-])")
LINKS = re.compile(r"(https?://\S+|[\w.+-]+@[\w.-]+|/[\w./?=&%-]*)")


NOT_WORDS = {"script", "style", "template", "pre", "code", "textarea"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Visible(HTMLParser):
    """The words a person sees on a page: text outside scripts and styles, and the words of controls."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self._hidden or tag in NOT_WORDS or found.get("translate") == "no":
            if tag not in VOID:
                self._hidden += 1
            return
        for name in ("title", "placeholder", "aria-label", "alt"):
            if found.get(name):
                self.words.append(str(found[name]))
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.words.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and tag not in VOID:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.words.append(data.strip())


def problems(html: str, language: str) -> list[str]:
    """What on this page is not a word for a person: untranslated keys, raw identifiers, English in Japanese."""
    parser = _Visible()
    parser.feed(html)
    keys = set(i18n.catalogue("ja")) | set(i18n.catalogue("en"))
    found: list[str] = []
    for text in parser.words:
        text = LINKS.sub(" ", text)
        found += [f"key {k!r}" for k in keys if k in text and re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", text)]
        found += [f"identifier {m!r} in {text[:80]!r}" for m in SNAKE.findall(text)]
        found += [f"raw value {m!r} in {text[:80]!r}" for m in RAW.findall(text)]
        if language == "ja":
            found += [
                f"English {m!r} in {text[:80]!r}" for m in LATIN_WORD.findall(text) if m not in JAPANESE_PAGE_MAY_SHOW
            ]
    return sorted(set(found))


def test_every_page_speaks_in_words_in_both_languages(demo_app: DemoApp) -> None:
    report: list[str] = []
    with TestClient(demo_app.app, follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, session_token(demo_app.settings, demo_app.admin_id))
        for path, module in pages(demo_app.app):
            if module in PUBLIC_MODULES or path in REDIRECTS:
                continue
            address = url(path, module, demo_app.params)
            for language in ("ja", "en"):
                client.cookies.set(LANGUAGE_COOKIE, language)
                response = client.get(address)
                if not response.headers["content-type"].startswith("text/html"):
                    continue
                report += [f"{language} {address}: {p}" for p in problems(response.text, language)]
    assert not report, f"{len(report)} words that are not words:\n" + "\n".join(report)


def test_the_check_finds_what_it_looks_for() -> None:
    page = (
        "<p>seat_utilisation</p><p>None</p><p title='accounts.count'>x</p><p>closed</p>"
        "<script>var a_b = null;</script><p>tanaka@example.jp</p><p translate='no'>We <b>need</b> SSO</p>"
        "<textarea>key: x_y</textarea><p>churn_risk</p>"
    )
    assert problems(page, "ja") == [
        "English 'closed' in 'closed'",
        "identifier 'churn_risk' in 'churn_risk'",
        "identifier 'seat_utilisation' in 'seat_utilisation'",
        "key 'accounts.count'",
        "raw value 'None' in 'None'",
    ]
    assert problems("<p>解約率</p><p>Churn rate</p>", "en") == []
