"""A vendor's credentials: kept in ``<data dir>/connectors/<vendor>.json`` (owner-only, 0600), never logged.

``kizuna connect <vendor>`` writes the file; an environment variable ``KIZUNA_<VENDOR>_<NAME>`` (for example
``KIZUNA_STRIPE_API_KEY``) overrides a value, for deployments that keep secrets in the environment. We chose a file
in the data directory over a database table so that a database dump or backup never carries the secrets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from kizuna.errors import ConfigurationError
from kizuna.settings import Settings


def _path(settings: Settings, vendor: str) -> Path:
    return settings.data_dir / "connectors" / f"{vendor}.json"


def save(settings: Settings, vendor: str, values: Mapping[str, str]) -> Path:
    """Write (merge into) ``vendor``'s credentials; the file is created readable by its owner only."""
    path = _path(settings, vendor)
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**_read_file(path), **{k: v for k, v in values.items() if v}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(merged, f, ensure_ascii=False, indent=1, sort_keys=True)
    os.chmod(path, 0o600)
    return path


def connect(settings: Settings, vendor: str, values: Mapping[str, str], *, public: tuple[str, ...] = ()) -> str:
    """Save ``vendor``'s credentials (:func:`save`) and say so in one line: where, and each secret redacted (the
    ``public`` values, such as an API address, left out)."""
    path = save(settings, vendor, values)
    shown = redacted({k: v for k, v in values.items() if v and k not in public})
    return f"{vendor} connected ({path}, owner-only): " + ", ".join(f"{k} {v}" for k, v in shown.items())


def _read_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ConfigurationError(f"{path} is not valid JSON ({e}); run `kizuna connect` again", path=str(path)) from e
    return {str(k): str(v) for k, v in data.items()}


def load(settings: Settings, vendor: str) -> dict[str, str]:
    """``vendor``'s credentials: the file's values, each overridden by ``KIZUNA_<VENDOR>_<NAME>`` when set."""
    values = _read_file(_path(settings, vendor))
    prefix = f"KIZUNA_{vendor.upper()}_"
    for name, value in os.environ.items():
        if name.startswith(prefix) and value:
            values[name[len(prefix) :].lower()] = value
    return values


def require(settings: Settings, vendor: str, *names: str) -> dict[str, str]:
    """The credentials ``names`` of ``vendor``, or a ConfigurationError saying how to set the missing ones."""
    values = load(settings, vendor)
    missing = [n for n in names if not values.get(n)]
    if missing:
        hint = ", ".join(f"KIZUNA_{vendor.upper()}_{n.upper()}" for n in missing)
        raise ConfigurationError(
            f"{vendor} is not connected: {', '.join(missing)} missing; run `kizuna connect {vendor}` or set {hint}",
            vendor=vendor,
        )
    return values


def redacted(values: Mapping[str, str]) -> dict[str, str]:
    """Values safe to print: the last four characters of each, the rest masked."""
    return {k: ("…" + v[-4:]) if len(v) > 8 else "…" for k, v in values.items()}


def configured(settings: Settings) -> list[str]:
    """The vendors with a credentials file."""
    folder = settings.data_dir / "connectors"
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []
