"""Personal data purged after its retention period, the proof intact (issue 8, item 6)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from attendance import retention
from attendance.models import Signature
from certificates.models import Certificate
from core.extensions import db
from core.models import Invitation, Trainee
from tests.attendance.support import DAY, rows, verify
from tests.conftest import bearer
from training.models import Enrolment, Order


def purge(runner, order_id: str):  # noqa: ANN001, ANN201
    return runner.invoke(args=["ledger", "purge", "--order-id", order_id])


def test_an_order_is_purged_only_after_three_years_past_its_last_year(app, tenant_a, built, runner):
    order = db.session.get(Order, tenant_a.order_id)
    assert retention.retention_ends(order) == datetime(order.end_date.year + 4, 1, 1).date()
    refused = purge(runner, tenant_a.order_id)
    assert refused.exit_code != 0
    assert "se conservent jusqu'au" in refused.output
    assert db.session.get(Trainee, tenant_a.trainee.id).first_name == tenant_a.trainee.first_name


def test_a_purged_order_keeps_every_chain_and_seal_verifiable(
    app, client, tenant_a, region, built, runner, monkeypatch
):
    """The personal part of each entry (device, network, reason) and the trainees' names go;
    every hash, chain and seal still checks, and the hours stay what they were."""
    certificate = issue_realisation(tenant_a)  # its hash chained, then sealed
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    admin_h = bearer(app, tenant_a.admin)
    sheet = client.get(f"/api/v1/sessions/{built.session_id}/attendance", headers=admin_h)
    minutes = [i["minutes"] for i in sheet.get_json()["items"]]
    order = db.session.get(Order, tenant_a.order_id)
    after = datetime.combine(retention.retention_ends(order), datetime.min.time(), tzinfo=UTC)
    monkeypatch.setattr("attendance.cli.utcnow", lambda: after)
    done = purge(runner, tenant_a.order_id)
    assert done.exit_code == 0, done.output
    assert "4 stagiaires" in done.output  # Amina and the three enrolled by `built`
    db.session.expire_all()
    personal = [(r["device"], r["reason"], r["salt"]) for r in rows(built.session_id)]
    assert all(entry == ({}, None, None) for entry in personal), personal
    names = {t.first_name for t in db.session.scalars(select(Trainee))}
    assert names == {retention.PURGED}
    assert all(i.device_label is None for i in db.session.scalars(select(Invitation)))
    answer = verify(client, bearer(app, region))
    assert (answer["ok"], answer["sealed"], answer["unsealed"]) == (True, answer["length"], 0)
    again = client.get(f"/api/v1/sessions/{built.session_id}/attendance", headers=admin_h)
    assert [i["minutes"] for i in again.get_json()["items"]] == minutes
    assert db.session.scalar(select(Signature.id).where(Signature.salt.is_not(None))) is None
    # The certificates' PDFs printed the names: erased; their hashes still verify.
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).pdf is None
    checked = client.get(f"/api/v1/certificates/{certificate.short_id}/verify").get_json()
    assert (checked["valid"], checked["trainee_initials"]) == (True, "données effacées")
    assert (checked["superseded"], checked["outdated"]) == (False, False)


def issue_realisation(tenant):  # noqa: ANN001, ANN201
    """The certificate of realisation of the tenant's trainee (the built session counts)."""
    from certificates import services as certificates

    enrolment = db.session.get(Enrolment, tenant.enrolment_id)
    later = datetime(DAY.year, DAY.month, DAY.day, 18, tzinfo=UTC)
    issued = certificates.issue(tenant.admin.id, enrolment, "realisation", "", later, "http://x")
    db.session.commit()
    return issued.certificate


def test_the_daily_purge_takes_every_order_past_its_retention_and_only_those(
    app, client, tenant_a, tenant_b, region, runner, monkeypatch
):
    """`ledger purge --due`, run each day by a timer: the orders whose retention is over are
    purged, the others kept whole; run again, it changes nothing more (GDPR, CCTP)."""
    old = db.session.get(Order, tenant_a.order_id)
    after = datetime.combine(retention.retention_ends(old), datetime.min.time(), tzinfo=UTC)
    newer = db.session.get(Order, tenant_b.order_id)
    newer.end_date = newer.end_date.replace(year=newer.end_date.year + 1)
    db.session.commit()
    monkeypatch.setattr("attendance.cli.utcnow", lambda: after)
    assert runner.invoke(args=["ledger", "purge"]).exit_code != 0  # an order, or --due
    done = runner.invoke(args=["ledger", "purge", "--due"])
    assert done.exit_code == 0, done.output
    assert f"{tenant_a.order_id} — données personnelles effacées : 1 stagiaires" in done.output
    assert tenant_b.order_id not in done.output
    db.session.expire_all()
    assert db.session.get(Trainee, tenant_a.trainee.id).first_name == retention.PURGED
    assert db.session.get(Trainee, tenant_b.trainee.id).first_name == tenant_b.trainee.first_name
    again = runner.invoke(args=["ledger", "purge", "--due"])
    assert "0 entrées du registre" in again.output
    assert verify(client, bearer(app, region))["ok"] is True
