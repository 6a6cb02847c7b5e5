"""Bulk issues started from the organisation's page, and their progress pushed live.

Socket.IO namespace `/certificates`: the organisation's admin joins the room of one batch
(`join {batch_id}`) and receives `progress {batch_id, done, total}` once each group's
certificates are committed (they are issued together) and `finished {batch_id, status, done,
total}` at the end. The batch's row holds the same progress, so a page whose connection
dropped reads it again (pages.batch_progress). `before_request` does not run for Socket.IO
events: each handler authorises by itself.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, request
from flask_socketio import Namespace, join_room

from certificates import bulk
from certificates.models import CertificateBatch
from core.auth import Principal, principal_from_socket, still_valid
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.extensions import db, socketio
from core.models import Role
from training.models import Order

NAMESPACE = "/certificates"
log = logging.getLogger(__name__)


def room(batch_id: str) -> str:
    return f"batch:{batch_id}"


def get_batch(principal: Principal, batch_id: str) -> CertificateBatch:
    """A batch of the admin's organisation; another one's: 404."""
    batch = db.session.get(CertificateBatch, batch_id)
    if (
        batch is None
        or not principal.has_role(Role.ORG_ADMIN)
        or batch.organisation_id != principal.organisation_id
    ):
        raise NotFound("Émission introuvable.")
    return batch


def progress_of(batch: CertificateBatch) -> dict[str, Any]:
    return {
        "batch_id": batch.id,
        "status": batch.status,
        "done": batch.done,
        "total": batch.total,
        "error": batch.error,
    }


class CertificatesNamespace(Namespace):
    """Organisation admins follow the batches they started."""

    def __init__(self, namespace: str = NAMESPACE) -> None:
        super().__init__(namespace)
        self.principals: dict[str, Principal] = {}

    def on_connect(self, auth: dict[str, Any] | None = None) -> bool:
        principal = principal_from_socket(auth)
        if principal is None or not principal.has_role(Role.ORG_ADMIN):
            return False
        self.principals[request.sid] = principal  # type: ignore[attr-defined]
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        self.principals.pop(request.sid, None)  # type: ignore[attr-defined]

    def on_join(self, data: dict[str, Any]) -> dict[str, Any]:
        """Join one batch's room; answers its progress so far (or an error)."""
        known = self.principals.get(request.sid)  # type: ignore[attr-defined]
        principal = still_valid(known) if known else None  # deactivated since?
        if principal is None:
            return {"ok": False, "error": "not_authenticated"}
        try:
            batch = get_batch(principal, str((data or {}).get("batch_id", "")))
        except DomainError as error:
            return {"ok": False, "error": error.code}
        try:
            join_room(room(batch.id))
        except ValueError:  # the client left meanwhile
            return {"ok": False, "error": "disconnected"}
        return {"ok": True, **progress_of(batch)}


def run_batch(app: Flask, batch_id: str) -> None:
    """Issue every certificate of the batch's order and month (a background thread of the
    page's process, its workers in processes of their own); record and push the progress."""
    with app.app_context():
        batch = db.session.get_one(CertificateBatch, batch_id)
        try:
            order = db.session.get_one(Order, batch.order_id)
            planned = bulk.targets(order, batch.month)
            batch.total = len(planned)
            db.session.commit()
            workers = int(app.config.get("CERTIFICATE_WORKERS", 2))
            bulk.run(
                app,
                planned,
                batch.started_by_id,
                utcnow(),
                workers=workers,
                progress=lambda done, total: _advance(batch_id, done),
            )
            batch = db.session.get_one(CertificateBatch, batch_id)
            batch.status = "done"
        except Exception as error:  # noqa: BLE001 - the page must learn that it failed
            log.exception("Bulk issue %s failed", batch_id)
            db.session.rollback()
            batch = db.session.get_one(CertificateBatch, batch_id)
            batch.status, batch.error = "failed", str(error)[:500]
        batch.finished_at = utcnow()
        db.session.commit()
        _push("finished", progress_of(batch))
        db.session.remove()


def _advance(batch_id: str, done: int) -> None:
    batch = db.session.get_one(CertificateBatch, batch_id)
    batch.done = done
    db.session.commit()
    _push("progress", progress_of(batch))


def _push(event: str, payload: dict[str, Any]) -> None:
    socketio.emit(event, payload, namespace=NAMESPACE, to=room(payload["batch_id"]))
