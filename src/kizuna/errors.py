"""kizuna's one exception tree. Services raise these; one handler maps them to HTTP status, HTML and CLI exit codes.

::

    KizunaError
    ├── InvalidInput (ValueError)      400  bad data or arguments; names file, row, column, value where known
    │   ├── ImportRejected             400  a whole file could not be read (encoding, missing columns)
    │   └── NotEnoughData              400  the hub holds too little to compute this (no paying line, no history)
    ├── NotFound (LookupError)         404  no such account, task, playbook, ...
    ├── Conflict                       409  the write clashes with the current state (duplicate, stale version)
    ├── PermissionDenied               403  the user or API key lacks the role or scope
    │   ├── NotAuthenticated           401  no valid session or API key
    │   └── TooManyAttempts            429  logins throttled: too many failures; ``retry_after`` seconds
    ├── ConfigurationError             500  settings or YAML config that cannot work
    └── ExternalServiceError           502  SMTP, webhook or CRM peer failed after retries
"""

from __future__ import annotations


class KizunaError(Exception):
    """Base of every error kizuna raises on purpose."""

    status_code = 500

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class InvalidInput(KizunaError, ValueError):
    """Input that cannot be accepted. Where it comes from a file, ``context`` names file, row, column and value."""

    status_code = 400


class ImportRejected(InvalidInput):
    """A whole import file was refused before any row was written."""


class NotEnoughData(InvalidInput):
    """The hub holds too little to compute this yet (no paying line, too short a history); the message says what is
    missing. A refresh step that raises it is skipped with that reason and the later steps still run."""


class NotFound(KizunaError, LookupError):
    status_code = 404


class Conflict(KizunaError):
    status_code = 409


class PermissionDenied(KizunaError):
    status_code = 403


class NotAuthenticated(PermissionDenied):
    status_code = 401


class TooManyAttempts(PermissionDenied):
    """Too many failed logins for an account or from an address; try again after ``retry_after`` seconds."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int, **context: object) -> None:
        super().__init__(message, retry_after=retry_after, **context)
        self.retry_after = retry_after


class ConfigurationError(KizunaError):
    status_code = 500


class ExternalServiceError(KizunaError):
    status_code = 502
