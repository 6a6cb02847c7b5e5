"""E-mail notifications through an outbox: a message is a row written in the same transaction
as what it tells (a promotion, a cancellation, a closure), so it is sent only if that commits
and is never lost if sending fails; it is delivered after the commit, from a thread, so the
booking never waits for the SMTP server. `flask --app wsgi sites send-mail` retries the rest.

`SMTP_URL`: `smtp://host:port`, `smtp+starttls://user:password@host:587` or
`smtps://user:password@host:465`; empty (development) keeps the mails in the outbox, shown
on the outbox page (/sites/boite-d-envoi).
"""

from __future__ import annotations

import smtplib
import threading
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.extensions import db
from core.models import Role, User
from sites.models import OutboxMail

MAX_ATTEMPTS = 5


def queue_mail(recipient: str, subject: str, body: str, topic: str) -> None:
    """Write a mail to the outbox in the current transaction; it leaves once that commits."""
    db.session.add(OutboxMail(recipient=recipient, subject=subject[:200], body=body, topic=topic))
    db.session.info[PENDING] = True


PENDING = "outbox_pending"


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    """A transaction that queued mails committed: deliver them (whoever committed it)."""
    if session.info.pop(PENDING, False) and has_app_context():
        deliver_after_commit()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    """Rolled back: the queued mails are gone with the rest."""
    session.info.pop(PENDING, None)


def organisation_admin_emails(organisation_id: str) -> list[str]:
    """Where an organisation is told: its administrative referents."""
    return list(
        db.session.scalars(
            select(User.email).where(
                User.organisation_id == organisation_id,
                User.role == Role.ORG_ADMIN,
                User.is_active.is_(True),
            )
        )
    )


def tell_organisation(organisation_id: str, subject: str, body: str, topic: str) -> None:
    for email in organisation_admin_emails(organisation_id):
        queue_mail(email, subject, body, topic)


def _smtp(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=10)
    else:
        client = smtplib.SMTP(host, port or 25, timeout=10)
        if parts.scheme == "smtp+starttls":
            client.starttls()
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def deliver_pending(config: Any, limit: int = 200) -> int:
    """Send the outbox's unsent mails (oldest first); answer how many were sent. Each mail is
    marked sent in its own commit right after the server accepted it."""
    url = config.get("SMTP_URL") or ""
    if not url:
        return 0
    pending = list(
        db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMail.created_at, OutboxMail.id)
            .limit(limit)
        )
    )
    db.session.commit()  # end the read: each mail below is its own short transaction
    sent = 0
    if not pending:
        return 0
    try:
        client = _smtp(url)
    except (OSError, smtplib.SMTPException) as exc:
        for mail in pending:  # the attempt counts: a server down for good ends the retries
            _claim(mail)
        _failed([m.id for m in pending], str(exc))
        return 0
    with client:
        for mail in pending:
            message = EmailMessage()
            message["From"] = config.get("MAIL_FROM") or "ne-pas-repondre@competences-plus.fr"
            message["To"], message["Subject"] = mail.recipient, mail.subject
            message.set_content(mail.body)
            if not _claim(mail):
                continue  # another process is sending it
            try:
                client.send_message(message)
            except smtplib.SMTPException as exc:
                _failed([mail.id], str(exc))
                continue
            db.session.execute(
                update(OutboxMail).where(OutboxMail.id == mail.id).values(sent_at=utcnow())
            )
            db.session.commit()
            sent += 1
    return sent


def _claim(mail: OutboxMail) -> bool:
    """Count this attempt, unless another sender counted it first (then it sends it)."""
    claimed = db.session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail.id,
            OutboxMail.sent_at.is_(None),
            OutboxMail.attempts == mail.attempts,
        )
        .values(attempts=OutboxMail.attempts + 1)
    )
    db.session.commit()
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def _failed(ids: list[str], error: str) -> None:
    db.session.execute(
        update(OutboxMail).where(OutboxMail.id.in_(ids)).values(last_error=error[:300])
    )
    db.session.commit()


def deliver_after_commit() -> None:
    """Deliver the outbox now that a transaction committed, from a thread (with its own
    session), so that the answer does not wait for the SMTP server; `SMTP_INLINE` (tests)
    waits for it."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("SMTP_URL"):
        return
    sender = threading.Thread(target=_deliver_in, args=(app,), daemon=True)
    sender.start()
    if app.config.get("SMTP_INLINE"):  # tests: the mail is out when the answer is
        sender.join(timeout=30)


_lock = threading.Lock()


def _deliver_in(app: Flask) -> None:
    with _lock, app.app_context():  # one sender at a time per process: no mail sent twice
        try:
            deliver_pending(app.config)
        finally:
            db.session.remove()
