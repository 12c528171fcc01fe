"""``kizuna mail pull`` and the scheduler's mail step: the connected mailbox read over IMAP, incrementally by UID.

The stream's cursor is ``<UIDVALIDITY>:<last UID read>``. Each batch of messages (fetched outside any transaction)
is read into activities and VoC entries in one transaction together with the cursor's move, so a pull that stops
anywhere (the process killed, the connection dropped) leaves whole batches and resumes after the last one committed.
When the server's UIDVALIDITY differs from the cursor's (the mailbox was re-created or re-numbered), UIDs mean other
messages: the mailbox is read again from its first UID, and the messages already read are recognised by their
``Message-ID`` (:func:`kizuna.mail.service.import_message`) and counted as duplicates, never recorded twice.

A server that cannot be reached, or a connection that drops, is tried again with back-off (doubling waits); a login
the server refuses is not (trying again would not help and may lock the account). Every pull is a run of the
connectors' run log (``/connectors/mail``), failed ones included.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.connectors.jobs import finish_run
from kizuna.connectors.models import ConnectorRun
from kizuna.connectors.service import RunLog
from kizuna.crm.backoff import Backoff
from kizuna.errors import ExternalServiceError, InvalidInput
from kizuna.mail.imap import Mailbox, MailboxAddress
from kizuna.mail.service import VENDOR, import_message, read_message
from kizuna.runtime import Runtime
from kizuna.settings import Settings

log = logging.getLogger(__name__)

#: messages fetched and committed together
BATCH_SIZE = 50
#: tries of an unreachable server: waits of 2, 4, 8 and 16 seconds between them
BACKOFF = Backoff(attempts=5, base_seconds=2.0, max_seconds=60.0)


def address_of(settings: Settings) -> MailboxAddress:
    """The mailbox of ``kizuna connect mail`` (or ``KIZUNA_MAIL_*``)."""
    return MailboxAddress.from_credentials(credentials.require(settings, VENDOR, "host", "user", "password"))


def stream_of(address: MailboxAddress) -> str:
    """The cursor's stream name: one per mailbox of one account on one server."""
    return f"imap:{address.user}@{address.host}/{address.mailbox}"[:64]


def _position(text: str | None) -> tuple[int | None, int]:
    """(UIDVALIDITY, last UID read) of a cursor; (None, 0) before the first pull."""
    if not text:
        return None, 0
    validity, _, last = text.partition(":")
    return int(validity), int(last or 0)


def _merge(into: RunLog, part: RunLog) -> None:
    for what, n in part.counts.items():
        if what != "rejected":
            into.count(what, n)
    for reject in part.rejects:
        into.reject(reject["record"], reject["field"], reject["value"], reject["reason"])
    unkept = part.counts.get("rejected", 0) - len(part.rejects)  # those past the kept list
    if unkept:
        into.count("rejected", unkept)


def _read_batch(
    session: Session, *, address: MailboxAddress, validity: int, fetched: list[tuple[int, bytes]], last_uid: int,
    actor: str, batch_log: RunLog,
) -> None:  # fmt: skip
    for uid, raw in fetched:
        where = f"{address.mailbox} UID {uid}"
        batch_log.count("read")
        try:
            message = read_message(raw, source=where)
        except InvalidInput as exc:
            batch_log.reject(where, "From", None, str(exc))
            continue
        import_message(session, message, actor=actor, log=batch_log, where=where)
    connectors.save_cursor(session, vendor=VENDOR, stream=stream_of(address), position=f"{validity}:{last_uid}")


def _pull_once(runtime: Runtime, address: MailboxAddress, run_log: RunLog, *, actor: str, batch_size: int) -> None:
    """One IMAP session: from the stored cursor to the newest message, a batch per transaction."""
    stream = stream_of(address)
    with Mailbox(address) as box:
        with runtime.transaction() as session:
            validity, last_uid = _position(connectors.cursor(session, vendor=VENDOR, stream=stream))
        if validity != box.uid_validity:
            if validity is not None:
                log.warning(
                    "mail: UIDVALIDITY of %s changed (%s -> %s): reading the mailbox again (known messages are "
                    "recognised by Message-ID)", address.where, validity, box.uid_validity,
                )  # fmt: skip
                run_log.count("uidvalidity_resets")
            last_uid = 0
        uids = box.uids_after(last_uid)
        for start in range(0, len(uids), batch_size):
            batch = uids[start : start + batch_size]
            fetched = box.fetch(batch)

            def read(session: Session, fetched: list[tuple[int, bytes]] = fetched, last: int = batch[-1]) -> RunLog:
                batch_log = RunLog()  # a fresh one each try: a retried transaction counts once
                _read_batch(
                    session, address=address, validity=box.uid_validity, fetched=fetched, last_uid=last,
                    actor=actor, batch_log=batch_log,
                )  # fmt: skip
                return batch_log

            _merge(run_log, runtime.write(read))
            log.info("mail: %s messages read from %s (up to UID %s)", len(fetched), address.where, batch[-1])
        if not uids and validity != box.uid_validity:  # an empty mailbox: remember its UIDVALIDITY all the same

            def remember(session: Session) -> None:
                position = f"{box.uid_validity}:{last_uid}"
                connectors.save_cursor(session, vendor=VENDOR, stream=stream, position=position)

            runtime.write(remember)


def _retry(error: Exception) -> float | None:
    """0 (try again after the back-off) for a network failure, None for anything else."""
    if isinstance(error, ExternalServiceError) and error.context.get("retry"):
        return 0.0
    return None


def pull(
    runtime: Runtime,
    *,
    address: MailboxAddress,
    actor: str,
    batch_size: int = BATCH_SIZE,
    backoff: Backoff = BACKOFF,
    analyse: bool = True,
) -> ConnectorRun:
    """Read the messages that arrived since the last pull; returns the run, closed. An ExternalServiceError (the
    login refused, the server unreachable after the back-off) fails the run, keeping the batches committed."""
    with runtime.transaction(write=True) as session:
        run_id = connectors.start_run(session, vendor=VENDOR, kind="pull").id
    run_log = RunLog()
    try:
        backoff.call(
            lambda: _pull_once(runtime, address, run_log, actor=actor, batch_size=batch_size),
            retry_after=_retry,
            what=f"mail pull of {address.where}",
            run_log=run_log,
        )
        if analyse and run_log.counts.get("voc_entries"):
            from kizuna.voc.service import analyse_entries

            with runtime.transaction(write=True) as session:
                analyse_entries(session, models_dir=runtime.settings.models_dir)
    except BaseException as exc:
        finish_run(runtime, run_id, run_log, actor=actor, error=(str(exc) or type(exc).__name__)[:2000])
        raise
    run = finish_run(runtime, run_id, run_log, actor=actor, error=None)
    log.info("mail pull of %s: %s", address.where, run.counts)
    return run


def due(session: Session, *, settings: Settings, now: dt.datetime) -> bool:
    """Whether the mailbox is connected and its last pull started ``settings.connector_sync_minutes`` or more
    before ``now`` (or it never pulled)."""
    if VENDOR not in credentials.configured(settings) or not credentials.load(settings, VENDOR).get("host"):
        return False
    last = session.scalar(
        select(func.max(ConnectorRun.started_at)).where(ConnectorRun.vendor == VENDOR, ConnectorRun.kind == "pull")
    )
    return last is None or now - last >= dt.timedelta(minutes=settings.connector_sync_minutes)


def pull_due(runtime: Runtime, *, now: dt.datetime) -> str | None:
    """The scheduler's mail step: pull the connected mailbox when it is due (see :func:`due`); a failure is a
    failed run in the run log, tried again at the next turn. Returns the run's status, or None when not due."""
    with runtime.transaction() as session:
        if not due(session, settings=runtime.settings, now=now):
            return None
    try:
        # the new VoC entries get their sentiment from the refresh's VoC step (analysing here would load the
        # analyser in the scheduler for a handful of messages)
        run = pull(runtime, address=address_of(runtime.settings), actor="scheduler", analyse=False)
        return str(run.status)
    except Exception as error:  # the run log has it; the scheduler goes on with its other work
        log.warning("scheduled mail pull failed: %s", error)
        return "failed"
