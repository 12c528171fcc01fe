"""A customer mailbox read over IMAP with Python's own client (:mod:`imaplib`): log in, open the mailbox read-only,
list the messages after a UID and fetch them in batches, never marking one read (``BODY.PEEK[]``).

Failures come back as :class:`~kizuna.errors.ExternalServiceError` with ``retry=True`` in their context when trying
again may help (the server cannot be reached, the connection dropped, it timed out) and ``retry=False`` when it cannot
(the login was refused, no such mailbox, the certificate is not trusted). The password is never part of a message.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from kizuna.errors import ConfigurationError, ExternalServiceError

#: how the connection is protected: TLS from the first byte (port 993), STARTTLS on the plain port (143), or none
#: (a server on the same machine only)
SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
#: seconds a connection, a login or a fetch may wait for the server
TIMEOUT_SECONDS = 60.0

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCHED_UID = re.compile(rb"UID (\d+)")


@dataclass(frozen=True)
class MailboxAddress:
    """Where the mailbox is and how to log in; ``password`` is kept out of ``repr``."""

    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    mailbox: str = "INBOX"
    security: str = "ssl"
    ca_file: str | None = None  # a certificate authority to trust besides the system's (a company's own CA)
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_credentials(cls, values: Mapping[str, str]) -> MailboxAddress:
        """The address of ``kizuna connect mail``'s values; a ConfigurationError naming a bad one."""
        security = (values.get("security") or "ssl").lower()
        if security not in SECURITY:
            raise ConfigurationError(
                f"mail: security {security!r} is not one of {', '.join(SECURITY)}; run `kizuna connect mail` again",
                vendor="mail",
            )
        port_text = values.get("port") or str(DEFAULT_PORTS[security])
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigurationError(f"mail: port {port_text!r} is not a number", vendor="mail") from None
        return cls(
            host=values["host"],
            user=values["user"],
            password=values["password"],
            port=port,
            mailbox=values.get("mailbox") or "INBOX",
            security=security,
            ca_file=values.get("ca_file") or None,
        )

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"


def _text(data: object) -> str:
    if isinstance(data, list):
        return " ".join(_text(x) for x in data if x is not None)
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return str(data)


class Mailbox:
    """One IMAP session on one mailbox, opened read-only: ``with Mailbox(address) as box: box.uid_validity ...``."""

    def __init__(self, address: MailboxAddress) -> None:
        self.address = address
        self._client: imaplib.IMAP4 | None = None
        self.uid_validity = 0

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.address.ca_file:
            context.load_verify_locations(cafile=self.address.ca_file)
        return context

    def _fail(self, what: str, error: BaseException, *, retry: bool) -> ExternalServiceError:
        detail = _text(error.args[0]) if error.args else type(error).__name__
        return ExternalServiceError(
            f"mail: {what} ({self.address.where}): {detail}", vendor="mail", retry=retry, host=self.address.host
        )

    def __enter__(self) -> Mailbox:
        a = self.address
        try:
            if a.security == "ssl":
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(a.host, a.port, ssl_context=self._tls(), timeout=a.timeout)
            else:
                client = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
                if a.security == "starttls":
                    client.starttls(ssl_context=self._tls())
        except ssl.SSLCertVerificationError as e:
            raise self._fail("the server's certificate is not trusted (give --ca-file)", e, retry=False) from None
        except (OSError, imaplib.IMAP4.abort) as e:
            raise self._fail("cannot reach the IMAP server", e, retry=True) from None
        except imaplib.IMAP4.error as e:
            raise self._fail("the server refused STARTTLS", e, retry=False) from None
        self._client = client
        try:
            client.login(a.user, a.password)
        except imaplib.IMAP4.abort as e:
            self.close()
            raise self._fail("the connection dropped during the login", e, retry=True) from None
        except imaplib.IMAP4.error as e:
            self.close()
            raise self._fail(f"the IMAP server refused the login of {a.user!r}", e, retry=False) from None
        except OSError as e:
            self.close()
            raise self._fail("the connection dropped during the login", e, retry=True) from None
        try:
            status, data = client.select(_quoted(a.mailbox), readonly=True)
        except (OSError, imaplib.IMAP4.abort) as e:
            self.close()
            raise self._fail("the connection dropped opening the mailbox", e, retry=True) from None
        if status != "OK":
            self.close()
            raise ExternalServiceError(
                f"mail: cannot open mailbox {a.mailbox!r} ({a.where}): {_text(data)}", vendor="mail", retry=False
            )
        _, validity = client.response("UIDVALIDITY")
        found = [int(v) for v in validity if v is not None and str(v).strip().isdigit()] if validity else []
        if not found:  # some servers only say it in the untagged OK: ask for it
            _, status_data = client.status(_quoted(a.mailbox), "(UIDVALIDITY)")
            match = _UIDVALIDITY.search(b" ".join(x for x in status_data if isinstance(x, bytes)))
            found = [int(match.group(1))] if match else [0]
        self.uid_validity = found[0]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):  # the connection is gone already: close our end
            with contextlib.suppress(OSError):
                client.shutdown()

    @property
    def client(self) -> imaplib.IMAP4:
        if self._client is None:
            raise RuntimeError("the mailbox is not open")
        return self._client

    def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs greater than ``last_uid``, ascending (``n:*`` always matches the newest message even when its
        UID is below ``n``: filtered out)."""
        try:
            status, data = self.client.uid("SEARCH", "UID", f"{last_uid + 1}:*")
        except (OSError, imaplib.IMAP4.abort) as e:
            raise self._fail("the connection dropped listing new messages", e, retry=True) from None
        if status != "OK":
            raise ExternalServiceError(f"mail: the server refused UID SEARCH: {_text(data)}", vendor="mail")
        uids = sorted({int(x) for x in b" ".join(d for d in data if isinstance(d, bytes)).split()})
        return [uid for uid in uids if uid > last_uid]

    def fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        """(UID, the message's bytes) for each of ``uids`` the server still has, in UID order; not marked read."""
        if not uids:
            return []
        try:
            status, data = self.client.uid("FETCH", ",".join(str(u) for u in uids), "(UID BODY.PEEK[])")
        except TimeoutError as e:
            raise self._fail("the server timed out fetching messages", e, retry=True) from None
        except (OSError, imaplib.IMAP4.abort) as e:
            raise self._fail("the connection dropped fetching messages", e, retry=True) from None
        if status != "OK":
            raise ExternalServiceError(f"mail: the server refused UID FETCH: {_text(data)}", vendor="mail")
        out: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                match = _FETCHED_UID.search(item[0])
                if match:
                    out[int(match.group(1))] = item[1]
        return [(uid, out[uid]) for uid in sorted(out)]


def _quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (a name with spaces or quotes needs it)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
