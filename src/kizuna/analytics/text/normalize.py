"""Text normalisation, sentence splitting and language detection.

Everything here is pure string work (no Sudachi), so it is cheap and safe to call from any thread.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

__all__ = [
    "SPELLING_VARIANTS",
    "detect_language",
    "normalize_text",
    "split_sentences",
]

#: Spelling variants folded to one written form before tokenisation, so that KWIC, the user dictionary and the
#: terms agree. Sudachi's ``normalized_form`` already folds most kana/kanji variants of single words; this table
#: covers the compounds and okurigana it leaves apart, and the long-vowel katakana of IT words (JIS Z 8301 style
#: サーバ vs サーバー).
SPELLING_VARIANTS: Mapping[str, str] = {
    "問合せ": "問い合わせ",
    "問合わせ": "問い合わせ",
    "問い合せ": "問い合わせ",
    "申込み": "申し込み",
    "申込": "申し込み",
    "出来る": "できる",
    "出来な": "できな",
    "出来ま": "できま",
    "出来て": "できて",
    "出来た": "できた",
    "出来れ": "できれ",
    "出来ず": "できず",
    "下さい": "ください",
    "頂け": "いただけ",
    "頂き": "いただき",
    "頂く": "いただく",
    "わかりやす": "分かりやす",
    "わかりにく": "分かりにく",
    "わかりづら": "分かりづら",
    "判りにく": "分かりにく",
    "解りにく": "分かりにく",
    "使い辛": "使いづら",
    "見辛": "見づら",
    "分かり辛": "分かりづら",
    "使い難": "使いにく",
    "使い易": "使いやす",
    "ｅメール": "メール",
    "eメール": "メール",
    "Eメール": "メール",
    "e-mail": "メール",
}

# katakana IT words written without the final long vowel: サーバ -> サーバー (only when no ー follows already)
_LONG_VOWEL_WORDS = (
    "ユーザ",
    "サーバ",
    "メンバ",
    "マネージャ",
    "コンピュータ",
    "フォルダ",
    "ブラウザ",
    "プリンタ",
    "パラメータ",
)
_LONG_VOWEL_RE = re.compile("(" + "|".join(_LONG_VOWEL_WORDS) + ")(?![ー\u30a0-\u30ff])")

_VARIANT_RE = re.compile("|".join(re.escape(k) for k in sorted(SPELLING_VARIANTS, key=len, reverse=True)))
# runs of spaces other than a single " " (which would be replaced by itself)
_SPACE_RE = re.compile(r"[\t\u3000][ \t\u3000]*| [ \t\u3000]+")
_WAVE_RE = re.compile("[〜~～]")


def normalize_text(text: str, *, variants: Mapping[str, str] | None = None) -> str:
    """Return ``text`` in kizuna's canonical written form.

    NFKC (full-width ASCII to half-width, half-width katakana to full-width), wave dashes unified to ``〜``,
    runs of spaces collapsed, line breaks kept (they end sentences), and spelling variants folded with
    ``variants`` (default :data:`SPELLING_VARIANTS`). Case is kept: terms are lower-cased later, KWIC shows
    the text as written.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    out = unicodedata.normalize("NFKC", text)
    out = out.replace("\r\n", "\n").replace("\r", "\n")
    # each substitution only where it would change something (substring tests cost less than a regex pass)
    if "~" in out or "～" in out:
        out = _WAVE_RE.sub("〜", out)
    if "  " in out or "\t" in out or "\u3000" in out:
        out = _SPACE_RE.sub(" ", out)
    if variants is None:
        out = _VARIANT_RE.sub(lambda m: SPELLING_VARIANTS[m.group(0)], out)
    elif variants:
        pattern = re.compile("|".join(re.escape(k) for k in sorted(variants, key=len, reverse=True)))
        out = pattern.sub(lambda m: variants[m.group(0)], out)
    if any(word in out for word in _LONG_VOWEL_WORDS):
        out = _LONG_VOWEL_RE.sub(r"\1ー", out)
    return out.strip()


# a sentence ends after 。！？!? (and their runs, plus closing brackets), at a line break, or after ". " in Latin text
_SENTENCE_END_RE = re.compile(r"[。！？!?]+[」』）)\]]*|\n+|(?<=[A-Za-z0-9\)])\.(?=\s|$)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split normalised ``text`` into sentences, returned as ``(start, end)`` character spans.

    Sentences end after 。！？!? (runs of them and closing brackets stay with the sentence), at line breaks,
    and at a full stop followed by a space in Latin text. Empty and whitespace-only spans are dropped.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END_RE.finditer(text):
        end = m.end() if m.group(0)[0] != "\n" else m.start()
        _append_span(text, start, end, spans)
        start = m.end()
    _append_span(text, start, len(text), spans)
    return spans


def _append_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    # str.strip() drops exactly the characters for which str.isspace() holds
    piece = text[start:end]
    kept = piece.strip()
    if kept:
        start += len(piece) - len(piece.lstrip())
        spans.append((start, start + len(kept)))


def _is_japanese_char(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # hiragana, katakana
        or 0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x31F0 <= o <= 0x31FF
    )


_JAPANESE_RUNS_RE = re.compile("[\u3040-\u30ff\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\u31f0-\u31ff]+")
_LATIN_LETTERS_RE = re.compile("[A-Za-z]")


def detect_language(text: str, *, min_japanese_share: float = 0.15) -> str:
    """Guess the language of ``text`` from its script: ``"ja"``, ``"en"`` or ``"und"`` (no letters).

    Counts kana/kanji against Latin letters; a text is Japanese when at least ``min_japanese_share`` of its
    letters are kana or kanji (Japanese notes often carry long Latin product names). The heuristic only tells
    Japanese from Latin-script text; any Latin-script language is reported as ``"en"``.
    """
    # one C-level scan each, instead of a loop per character; Japanese characters are counted by runs (one string
    # per run rather than per character)
    ja = sum(map(len, _JAPANESE_RUNS_RE.findall(text)))
    latin = len(_LATIN_LETTERS_RE.findall(text))
    total = ja + latin
    if total == 0:
        return "und"
    return "ja" if ja / total >= min_japanese_share else "en"
