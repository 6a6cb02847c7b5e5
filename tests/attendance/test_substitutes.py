"""A substitute trainer (CCTP §4.1.2): the organisation names a trainer of its own who runs a
session, or a group's sessions over a period, even once open; each change is chained and the
ledger holds the session's column to it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from attendance.models import TrainingSession
from core.models import Role
from tests.attendance.support import (
    DAY,
    install_clock,
    open_session,
    plan,
    qr_token,
    rows,
    run_sql,
    sign_in,
    tenant_learner,
    verify,
)
from tests.conftest import api_error, bearer, make_user, paris

REASON = "Formatrice en arrêt maladie"


def substitute(client, app, tenant, session_id, trainer_id, status=200, reason=REASON):  # noqa: ANN001, ANN201
    answer = client.post(
        f"/api/v1/sessions/{session_id}/substitute",
        json={"trainer_id": trainer_id, "reason": reason},
        headers=bearer(app, tenant.admin),
    )
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


def test_the_substitute_takes_over_an_open_session_without_interrupting_it(
    app, client, tenant_a, monkeypatch
):
    clock = install_clock(monkeypatch)
    sid = plan(app, client, tenant_a)
    amina = tenant_learner(app, tenant_a)
    clock.set(9, 0)
    open_session(client, bearer(app, tenant_a.trainer), sid)
    assert (
        sign_in(client, amina, qr_token(client, bearer(app, tenant_a.trainer), sid)).status_code
        == 201
    )
    nadia = make_user(Role.TRAINER, tenant_a.org)
    nadia_h = bearer(app, nadia)
    api_error(client.get(f"/api/v1/sessions/{sid}/qr", headers=nadia_h), 404)  # not hers yet
    body = substitute(client, app, tenant_a, sid, nadia.id)
    assert body["substitute_trainer_id"] == nadia.id
    assert body["status"] == "open"  # not interrupted
    signed = client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=nadia_h)
    assert signed.status_code == 201, signed.get_json()
    assert qr_token(client, nadia_h, sid)
    listed = client.get(f"/api/v1/sessions?start={DAY.isoformat()}&days=1", headers=nadia_h)
    assert sid in {s["id"] for s in listed.get_json()["items"]}  # in the substitute's day
    clock.set(12, 0)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=nadia_h).status_code == 200
    sheet = client.get(f"/api/v1/sessions/{sid}/attendance", headers=bearer(app, tenant_a.admin))
    present = [i for i in sheet.get_json()["items"] if i["status"] == "present"]
    assert [i["trainee_id"] for i in present] == [amina.id]
    (entry,) = [r for r in rows(sid) if r["kind"] == "substituted"]
    assert entry["facts"] == {"substitute_trainer_id": nadia.id}
    assert entry["author_id"] == tenant_a.admin.id
    assert entry["commitment"]  # the reason is committed to, like every personal part
    assert verify(client, bearer(app, tenant_a.admin))["ok"] is True
    substitute(client, app, tenant_a, sid, None, status=409)  # closed: the trainer stays


def test_the_ledger_holds_the_substitute_column(app, client, tenant_a, monkeypatch):
    install_clock(monkeypatch)
    sid = plan(app, client, tenant_a)
    nadia = make_user(Role.TRAINER, tenant_a.org)
    substitute(client, app, tenant_a, sid, nadia.id)
    admin_h = bearer(app, tenant_a.admin)
    assert verify(client, admin_h)["ok"] is True
    intruder = make_user(Role.TRAINER, tenant_a.org)
    run_sql(
        update(TrainingSession)
        .where(TrainingSession.id == sid)
        .values(substitute_trainer_id=intruder.id)
    )
    report = verify(client, admin_h)
    assert report["ok"] is False
    assert "substitute_trainer_id" in str(report["first_bad"])


def test_a_period_names_the_substitute_of_every_session_or_none(app, client, tenant_a, monkeypatch):
    install_clock(monkeypatch)
    admin_h = bearer(app, tenant_a.admin)
    first = plan(app, client, tenant_a, day=DAY)
    second = plan(app, client, tenant_a, day=DAY + timedelta(days=1))
    later = plan(app, client, tenant_a, day=DAY + timedelta(days=7))
    nadia, paul = make_user(Role.TRAINER, tenant_a.org), make_user(Role.TRAINER, tenant_a.org)
    url = f"/api/v1/groups/{tenant_a.group_id}/substitutes"
    body = {
        "trainer_id": nadia.id,
        "reason": REASON,
        "start": DAY.isoformat(),
        "end": (DAY + timedelta(days=1)).isoformat(),
    }
    answer = client.post(url, json=body, headers=admin_h)
    assert answer.status_code == 200, answer.get_json()
    assert {s["id"] for s in answer.get_json()["items"]} == {first, second}
    late = client.get(f"/api/v1/sessions/{later}", headers=admin_h).get_json()
    assert late["substitute_trainer_id"] is None
    # Paul leads a session of another group at the time of the second: the whole period is
    # refused and the first session keeps Nadia.
    group_b = client.post(
        f"/api/v1/orders/{tenant_a.order_id}/groups",
        headers=admin_h,
        json={"name": "Groupe B", "component": "Bureautique", "trainer_ids": [paul.id]},
    ).get_json()
    busy = client.post(
        f"/api/v1/groups/{group_b['id']}/sessions",
        headers=admin_h,
        json={
            "kind": "tutorat",
            "title": "Bureautique",
            "starts_at": paris(DAY + timedelta(days=1), 10),
            "ends_at": paris(DAY + timedelta(days=1), 11),
            "lead_trainer_id": paul.id,
        },
    )
    assert busy.status_code == 201, busy.get_json()
    error = api_error(
        client.post(url, json={**body, "trainer_id": paul.id}, headers=admin_h),
        409,
        "trainer_overlap",
    )
    assert "Bureautique" in error["message"]
    kept = client.get(f"/api/v1/sessions/{first}", headers=admin_h).get_json()
    assert kept["substitute_trainer_id"] == nadia.id
    nobody = {**body, "start": "2026-12-20", "end": "2026-12-21"}
    api_error(client.post(url, json=nobody, headers=admin_h), 409, "no_session")


def test_who_may_name_a_substitute(app, client, tenant_a, tenant_b, monkeypatch):
    install_clock(monkeypatch)
    sid = plan(app, client, tenant_a)
    outsider = make_user(Role.TRAINER, tenant_b.org)
    api_error(
        client.post(
            f"/api/v1/sessions/{sid}/substitute",
            json={"trainer_id": outsider.id, "reason": REASON},
            headers=bearer(app, tenant_a.admin),
        ),
        404,
        "unknown_trainer",
    )
    api_error(
        client.post(
            f"/api/v1/sessions/{sid}/substitute",
            json={"trainer_id": outsider.id, "reason": REASON},
            headers=bearer(app, tenant_b.admin),
        ),
        404,
    )
    api_error(
        client.post(
            f"/api/v1/sessions/{sid}/substitute",
            json={"trainer_id": tenant_a.trainer.id, "reason": REASON},
            headers=bearer(app, tenant_a.trainer),
        ),
        403,
    )
    api_error(
        client.post(
            f"/api/v1/sessions/{sid}/substitute",
            json={"trainer_id": tenant_a.trainer.id, "reason": "  "},
            headers=bearer(app, tenant_a.admin),
        ),
        400,
        "reason_required",
    )
    assert [r for r in rows(sid) if r["kind"] == "substituted"] == []
