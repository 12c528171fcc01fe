"""What the VoC refresh keeps between runs under ``models_dir``, so that a daily refresh redoes only what changed:

* the fitted classifier (:data:`CLASSIFIER_FILE`): ~10 s of CPU to fit on the shipped texts, whatever the
  company's size; fitted again only when its key changes (a team label, the text library's code or rules, the
  analyser's settings, a library version);
* the analysed texts (:data:`TERMS_FILE`): Sudachi's terms of every VoC text, by text, so that only new or edited
  texts are tokenised again.

Each file is one pickle behind a header (a magic line, the key it was made under, the SHA-256 of the pickle). A file
made under another key is ignored; one whose checksum or content does not hold is logged and ignored; either way
the work is done again and the file replaced (written aside, then renamed over it). The files sit beside the churn
model's (a joblib pickle) in the data directory, which kizuna trusts as it trusts its database.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kizuna.analytics.text.classify import VocClassifier
    from kizuna.analytics.text.tokenize import AnalyzedText, TextAnalyzer

log = logging.getLogger(__name__)

CLASSIFIER_FILE = "voc-classifier.pickle"
TERMS_FILE = "voc-terms.pickle"
_CLASSIFIER_MAGIC = b"kizuna voc classifier 1"
_TERMS_MAGIC = b"kizuna voc terms 1"


# ------------------------------------------------------------------------------------------------- keys
@functools.cache
def text_code_digest() -> str:
    """A digest of the text library's files (code, rules, lexicons) and of the versions of the libraries that
    tokenise, fit and pickle: what a kept result was made by."""
    import kizuna.analytics.text as text_package

    h = hashlib.sha256()
    root = Path(text_package.__file__).parent
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(root)).encode("utf-8") + b"\x1f" + path.read_bytes() + b"\x1e")
    for dist in ("scikit-learn", "scipy", "numpy", "pandas", "SudachiPy", "SudachiDict-core"):
        try:
            h.update(f"{dist}={metadata.version(dist)}\x1e".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=none\x1e".encode())
    h.update(f"python={sys.version_info[0]}.{sys.version_info[1]}".encode())
    return h.hexdigest()


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") + b"\x1e")
    return h.hexdigest()


def classifier_key(version: str, training_sha: str, analyzer: TextAnalyzer) -> str:
    """The key of a classifier fitted as ``version`` (analyser version and policy) on the training set of digest
    ``training_sha`` with terms from ``analyzer``, by this code."""
    return _digest("classifier", version, training_sha, analyzer.fingerprint(), text_code_digest())


def terms_key(analyzer: TextAnalyzer) -> str:
    """The key of texts analysed by ``analyzer`` with this code."""
    return _digest("terms", analyzer.fingerprint(), text_code_digest())


# ------------------------------------------------------------------------------------------ checked file
def read_kept(path: Path, *, magic: bytes, key: str) -> Any:
    """The object kept in ``path`` under ``key``; None when there is none, it was made under another key, or the
    file is damaged (logged)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s unreadable (%s): computed again", path, exc)
        return None
    try:
        head, stored_key, checksum, payload = raw.split(b"\n", 3)
        if head != magic:
            raise ValueError("not a file of this kind")
        if stored_key.decode("ascii") != key:
            return None  # made from other inputs or by other code: computed again and replaced
        if hashlib.sha256(payload).hexdigest() != checksum.decode("ascii"):
            raise ValueError("checksum mismatch")
        return pickle.loads(payload)  # kizuna's own file in the data directory, its checksum verified
    except Exception as exc:  # a damaged file is never trusted
        log.warning("%s damaged (%s): computed again", path, exc)
        return None


def kept_key(path: Path, *, magic: bytes) -> str | None:
    """The key ``path`` was written under (its header only; the content is not checked), or None."""
    try:
        with path.open("rb") as f:
            head, key = f.readline().rstrip(b"\n"), f.readline().rstrip(b"\n")
        return key.decode("ascii") if head == magic else None
    except (OSError, UnicodeDecodeError):
        return None


def write_kept(path: Path, obj: Any, *, magic: bytes, key: str) -> None:
    """Keep ``obj`` in ``path`` under ``key``: written to a file beside it, then renamed over it. A cache: a
    failure is logged and the caller goes on."""
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    header = b"\n".join((magic, key.encode("ascii"), hashlib.sha256(payload).hexdigest().encode("ascii"), b""))
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
            tmp = out.name
            out.write(header)
            out.write(payload)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("%s not written: %s", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# ------------------------------------------------------------------------------------------- classifier
def read_classifier(models_dir: Path, key: str) -> VocClassifier | None:
    """The classifier kept under ``key`` (:func:`classifier_key`), or None."""
    from kizuna.analytics.text.classify import VocClassifier

    state = read_kept(models_dir / CLASSIFIER_FILE, magic=_CLASSIFIER_MAGIC, key=key)
    if state is None:
        return None
    try:
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}")
        return VocClassifier.from_fitted_state(state)
    except Exception as exc:
        log.warning("%s holds no classifier (%s): fitting again", models_dir / CLASSIFIER_FILE, exc)
        return None


def write_classifier(models_dir: Path, key: str, classifier: VocClassifier) -> None:
    write_kept(models_dir / CLASSIFIER_FILE, classifier.fitted_state(), magic=_CLASSIFIER_MAGIC, key=key)


def classifier_kept(models_dir: Path, key: str) -> bool:
    """Whether ``models_dir`` holds a classifier file written under ``key``."""
    return kept_key(models_dir / CLASSIFIER_FILE, magic=_CLASSIFIER_MAGIC) == key


# ------------------------------------------------------------------------------------------------ terms
def load_terms(models_dir: Path, analyzer: TextAnalyzer) -> int:
    """Give ``analyzer`` the analysed texts kept for it (:data:`TERMS_FILE`, same settings and code); returns how
    many."""
    kept = read_kept(models_dir / TERMS_FILE, magic=_TERMS_MAGIC, key=terms_key(analyzer))
    if not isinstance(kept, dict):
        return 0
    return analyzer.preload(kept)


def save_terms(models_dir: Path, analyzer: TextAnalyzer, texts: Iterable[str], *, loaded: int = -1) -> int:
    """Keep the analysis of ``texts`` (those ``analyzer`` holds; the others are left out); returns how many are
    kept. The file is left as it is when it already holds exactly these: ``loaded`` (what :func:`load_terms` gave
    this analyser) texts kept and none tokenised since."""
    analysed: dict[str, AnalyzedText] = analyzer.cached(texts)
    if analyzer.tokenised == 0 and len(analysed) == loaded:
        return len(analysed)
    write_kept(models_dir / TERMS_FILE, analysed, magic=_TERMS_MAGIC, key=terms_key(analyzer))
    return len(analysed)
