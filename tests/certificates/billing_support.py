"""Helpers of the billing and export tests: a month of sessions through the API, and chains
written straight into the ledger (for the properties, which need sessions the planning rules
would refuse to overlap)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from attendance import journal, projection
from attendance.models import Signature, TrainingSession
from core.extensions import db
from tests.attendance.support import DAY, Clock, at, open_session, qr_token, sign_in
from tests.conftest import Tenant, bearer

MONTH = f"{DAY:%Y-%m}"


def billing_of(app: Flask, client: FlaskClient, tenant: Tenant, **query: str) -> dict[str, Any]:
    """The order's billing for the test month, as finance reads it (JSON)."""
    params = {"month": MONTH, **query}
    answer = client.get(
        f"/api/v1/orders/{tenant.order_id}/billing",
        query_string=params,
        headers=bearer(app, tenant.finance),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def group_of(body: dict[str, Any], group_id: str) -> dict[str, Any]:
    (group,) = [g for g in body["groups"] if g["group_id"] == group_id]
    return group


def line_of(body: dict[str, Any], session_id: str) -> dict[str, Any]:
    for group in body["groups"]:
        for line in group["sessions"]:
            if line["session_id"] == session_id:
                return line
    raise AssertionError(f"no line for {session_id}")


def hold(
    app: Flask,
    client: FlaskClient,
    tenant: Tenant,
    clock: Clock,
    sid: str,
    learners: list[Any],
    *,
    start: tuple[int, int] = (9, 0),
    close: tuple[int, int] | None = None,
    trainer_signs: bool = True,
) -> None:
    """Open the session at its start, the trainer signs (unless not), the learners sign in;
    close it when asked."""
    trainer_h = bearer(app, tenant.trainer)
    clock.set(*start)
    open_session(client, trainer_h, sid)
    if trainer_signs:
        signed = client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=trainer_h)
        assert signed.status_code == 201, signed.get_json()
    for learner in learners:
        assert sign_in(client, learner, qr_token(client, trainer_h, sid)).status_code == 201
    if close is not None:
        clock.set(*close)
        assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200


# --- chains written straight into the ledger -------------------------------------------------


def chained_session(
    tenant_org_id: str,
    group_id: str,
    author_id: str,
    *,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    participants: list[str] | None = None,
    opened: bool = False,
    trainer_halves: tuple[str, ...] = (),
    trainees: tuple[str, ...] = (),
    corrected: tuple[str, ...] = (),
    absent: tuple[str, ...] = (),
    closed_at: datetime | None = None,
    site_id: str | None = None,
    regroupement_reason: str | None = None,
) -> TrainingSession:
    """A session and its chain as the service would write them: plan, opening, the trainer's
    and the trainees' signatures, corrections (mark_present for `corrected`, mark_absent for
    `absent`), close."""
    session = TrainingSession(
        organisation_id=tenant_org_id,
        group_id=group_id,
        kind=kind,
        title=f"Séance {kind}",
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_id=author_id,
        whole_group=participants is None,
        status="planned",
        site_id=site_id,
        regroupement_reason=regroupement_reason,
    )
    db.session.add(session)
    db.session.flush()
    facts = projection.plan_facts(
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        site_id=site_id,
        regroupement_reason=regroupement_reason,
        participants=participants,
        lead_trainer_id=None,
    )
    journal.append(
        session.id, journal.session_entry(session, author_id, "planned", starts_at, facts)
    )
    if opened:
        session.status, session.opened_at, session.opened_by_id = "open", starts_at, author_id
        journal.append(session.id, journal.session_entry(session, author_id, "opened", starts_at))
        for half in trainer_halves:
            journal.append(session.id, _person(session, "trainer", author_id, half, starts_at))
        for trainee_id in trainees:
            journal.append(session.id, _person(session, "trainee", trainee_id, "am", starts_at))
        for action, trainee_ids in (("mark_present", corrected), ("mark_absent", absent)):
            for trainee_id in trainee_ids:
                entry = _person(session, "trainee", trainee_id, "am", starts_at)
                entry.kind, entry.method, entry.action = "correction", "correction", action
                entry.author_id, entry.reason = author_id, "Feuille papier"
                journal.append(session.id, entry)
    if opened and closed_at is not None:
        session.status, session.closed_at, session.closed_by_id = "closed", closed_at, author_id
        journal.append(session.id, journal.session_entry(session, author_id, "closed", closed_at))
    db.session.commit()
    return session


def _person(
    session: TrainingSession, signer_kind: str, signer_id: str, half: str, moment: datetime
) -> Signature:
    return Signature(
        organisation_id=session.organisation_id,
        kind="sign_in",
        signer_kind=signer_kind,
        signer_id=signer_id,
        half_day=half,
        at=moment,
        method="qr" if signer_kind == "trainee" else "trainer",
        channel="home",
        device={},
    )


__all__ = ["at", "DAY"]
