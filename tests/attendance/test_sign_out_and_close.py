"""Departures after the end, departures in the afternoon, and sign-ins racing a close (R7)."""

from __future__ import annotations

import pytest

from attendance import journal
from attendance.models import Signature
from core.errors import Conflict
from core.extensions import db
from tests.attendance.support import (
    DAY,
    at,
    count_rows,
    open_session,
    plan,
    qr_token,
    sign_in,
)
from tests.conftest import api_error, bearer

SIGN_OUTS = "/api/v1/sign-outs"


def minutes(client, app, tenant, session_id, trainee_id):  # noqa: ANN001, ANN201
    sheet = client.get(
        f"/api/v1/sessions/{session_id}/attendance", headers=bearer(app, tenant.admin)
    ).get_json()
    (item,) = [i for i in sheet["items"] if i["trainee_id"] == trainee_id]
    return item["minutes"]


def sign_out(client, amina, token):  # noqa: ANN001, ANN201
    return client.post(SIGN_OUTS, json={"qr": token}, headers=amina.headers)


def test_r7_autoformation_departure_just_after_the_end_counts_up_to_the_end(
    app, client, tenant_a, clock, trainer_h, amina
):
    sid = plan(app, client, tenant_a, kind="autoformation", start=(9, 0), end=(11, 0))
    open_session(client, trainer_h, sid)
    clock.set(9, 0)
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    clock.set(11, 0, 2)  # "J'ai terminé", two seconds after the end
    answer = sign_out(client, amina, qr_token(client, trainer_h, sid))
    assert answer.status_code == 200, answer.get_json()
    assert minutes(client, app, tenant_a, sid, amina.id) == 120  # capped at the end


def test_r7_departure_is_refused_30_minutes_after_the_end(
    app, client, tenant_a, clock, trainer_h, amina
):
    sid = plan(app, client, tenant_a, kind="autoformation", start=(9, 0), end=(11, 0))
    open_session(client, trainer_h, sid)
    clock.set(9, 0)
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    clock.set(11, 30)  # the trainer's screen still shows a QR: the session was never closed
    api_error(sign_out(client, amina, qr_token(client, trainer_h, sid)), 409, "signing_closed")
    assert count_rows(sid, kind="sign_out") == 0


def test_a_departure_in_the_afternoon_needs_the_afternoon_signature_first(
    app, client, tenant_a, clock, trainer_h, amina
):
    """One signature per half-day: a 15:00 departure is not filed under the morning."""
    sid = plan(app, client, tenant_a, start=(10, 0), end=(16, 0))
    clock.set(9, 50)
    open_session(client, trainer_h, sid)
    clock.set(10, 0)
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    clock.set(15, 0)
    token = qr_token(client, trainer_h, sid)
    api_error(sign_out(client, amina, token), 409, "sign_in_this_half_first")
    assert sign_in(client, amina, token).status_code == 201  # the afternoon's signature
    out = sign_out(client, amina, token)
    assert out.status_code == 200, out.get_json()
    stored = {
        (r.kind, r.half_day)
        for r in db.session.scalars(db.select(Signature).where(Signature.signer_kind != "session"))
    }
    assert stored == {("sign_in", "am"), ("sign_in", "pm"), ("sign_out", "pm")}
    # The afternoon counts from its own signature (15:00): 10:00–13:00, then nothing.
    assert minutes(client, app, tenant_a, sid, amina.id) == 180


def test_a_sign_in_read_before_a_close_is_refused_when_it_reaches_the_ledger(
    app, client, tenant_a, clock, trainer_h, amina
):
    """The close lands between the sign-in's read and its append: 409, nothing recorded."""
    sid = plan(app, client, tenant_a)
    open_session(client, trainer_h, sid)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200
    entry = Signature(
        organisation_id=tenant_a.org.id,
        kind="sign_in",
        signer_kind="trainee",
        signer_id=amina.id,
        half_day="am",
        at=at(DAY, 9, 1),
        method="qr",
        channel="home",
    )
    length = count_rows(sid)
    for head in ((length, ""), None):  # the compare-and-set, and the locked path
        with pytest.raises(Conflict) as refused:
            journal.append(sid, entry, head, require_open=True)
        assert refused.value.code == "session_not_open"
        db.session.rollback()
    assert count_rows(sid, kind="sign_in") == 0
