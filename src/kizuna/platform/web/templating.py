"""One Jinja environment for every domain's pages (autoescape on: customer text is always shown escaped).

Templates are found in ``kizuna/platform/web/templates`` (the base layout and macros) first, then in every
``templates/`` folder of the package; domains keep their templates in a sub-folder named after the domain
(``accounts/templates/accounts/list.html``) so names never clash.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from kizuna.platform.web import i18n, navigation

_KIT_TEMPLATES = Path(__file__).resolve().parent / "templates"
_PACKAGE = _KIT_TEMPLATES.parents[2]


def _template_dirs() -> list[str]:
    dirs = [str(_KIT_TEMPLATES)]
    dirs += sorted(str(p) for p in _PACKAGE.rglob("templates") if p.is_dir() and p != _KIT_TEMPLATES)
    return dirs


def _tojson_script(value: object) -> Markup:
    """JSON safe to embed in a ``<script type="application/json">`` block (``<``, ``>`` and ``&`` escaped)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_template_dirs()),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["json_script"] = _tojson_script
    env.filters["pct"] = i18n.format_percent
    env.filters["num"] = i18n.format_number
    env.filters["data_words"] = data_words
    env.filters["commands"] = commands
    return env


#: a run of lower-case Latin words inside a sentence of ours: a name from the customer's own data (an event type
#: of their product: "report viewed"), never a word of the app (its labels have none, tests/web/test_words.py)
_DATA_WORDS = re.compile(r"(?<![A-Za-z0-9_@./:-])[a-z][a-z0-9_]*(?: [a-z][a-z0-9_]*)*(?![A-Za-z0-9_@./:-])")


def data_words(text: object, language: str = "ja") -> Markup:
    """``text`` escaped; in a Japanese sentence, its lower-case Latin names marked ``translate="no"``: they are the
    customer's data, not words a translator (a browser's, or our words check) should touch."""
    raw, out, at = "" if text is None else str(text), [], 0
    if language != "ja":
        return Markup.escape(raw)
    for m in _DATA_WORDS.finditer(raw):
        out += [Markup.escape(raw[at : m.start()]), Markup('<span translate="no">{}</span>').format(m.group(0))]
        at = m.end()
    return Markup("").join([*out, Markup.escape(raw[at:])])


#: a command a sentence of ours tells the reader to run: `quoted`, or ``kizuna`` and its sub-command words
_COMMAND = re.compile(r"`([^`]+)`|(?<![\w-])kizuna(?: (?:[a-z][a-z0-9_-]*|--?[a-z][a-z0-9-]*))+")


def commands(text: object) -> Markup:
    """``text`` escaped, with each command in it (``kizuna refresh``) as ``<code translate="no">``: a command is
    typed as it is, in any language, so neither a translator nor our words check reads it as a word."""
    raw, out, at = "" if text is None else str(text), [], 0
    for m in _COMMAND.finditer(raw):
        command = m.group(1) if m.group(1) is not None else m.group(0)
        out += [Markup.escape(raw[at : m.start()]), Markup('<code translate="no">{}</code>').format(command)]
        at = m.end()
    return Markup("").join([*out, Markup.escape(raw[at:])])


def language_of(request: Request) -> str:
    lang = getattr(request.state, "language", None)
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def page_context(request: Request) -> dict[str, Any]:
    """What every page template can use: the translator ``_``, formatters bound to the language, the caller."""
    lang = language_of(request)
    tz = request.app.state.settings.timezone if hasattr(request.app.state, "settings") else "Asia/Tokyo"
    principal = getattr(request.state, "principal", None)
    links = getattr(request.app.state, "navigation", ())
    first_refresh = getattr(request.app.state, "first_refresh", None)
    return {
        "request": request,
        "lang": lang,
        "_": i18n.translator(lang),
        "date": lambda v: i18n.format_date(v, lang, tz),
        "datetime": lambda v: i18n.format_datetime(v, lang, tz),
        "month": lambda v: i18n.format_month(v, lang),
        "money": lambda v, c="JPY": i18n.format_money(v, c, lang),
        "money_short": lambda v, c="JPY": i18n.format_money_short(v, c, lang),
        "principal": principal,
        "nav": navigation.grouped(links, is_admin=principal is not None and principal.role == "admin"),
        "nav_active": lambda link, active=navigation.active_url(links, request.url.path): link.url == active,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "path": request.url.path,
        # nothing computed yet (the app's FirstRefresh): every page says so, for a signed-in person
        "first_refresh_pending": principal is not None and first_refresh is not None and first_refresh.pending(),
    }


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render template ``name`` with the page context plus ``context``."""
    template = environment().get_template(name)
    html = template.render({**page_context(request), **(context or {})})
    return HTMLResponse(html, status_code=status_code)
