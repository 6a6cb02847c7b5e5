"""Personal data (GDPR): a trainee downloads everything the service holds about them in one
click (JSON and a readable PDF), never another person's; the organisation records and answers
access and erasure requests; every read of a trainee's record is logged for its DPO."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from compliance.models import DataRequest, RecordAccess
from core.extensions import db
from core.models import Invitation, Trainee
from tests.attendance.support import (
    DAY,
    Clock,
    at,
    enrol,
    open_session,
    plan,
    qr_token,
    sign_in,
    tenant_learner,
)
from tests.conftest import api_error, bearer
from tests.page_support import install_clock, phone_browser, staff_browser


def held(app, client, tenant, monkeypatch):  # noqa: ANN001, ANN201
    """A tutorat this morning: Amina and Léa signed in by QR."""
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 55)))
    sid = plan(app, client, tenant)
    amina, lea = tenant_learner(app, tenant), enrol(app, client, tenant, "Léa")
    clock.set(9, 0)
    trainer_h = bearer(app, tenant.trainer)
    open_session(client, trainer_h, sid)
    for learner in (amina, lea):
        assert sign_in(client, learner, qr_token(client, trainer_h, sid)).status_code == 201
    return sid, amina, lea


def test_a_trainee_gets_their_data_and_nobody_elses(app, client, tenant_a, monkeypatch):
    _, amina, lea = held(app, client, tenant_a, monkeypatch)
    answer = client.get("/api/v1/me/data", headers=amina.headers)
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["identity"]["last_name"] == tenant_a.trainee.last_name
    (entry,) = data["ledger_entries"]
    assert (entry["kind"], entry["method"]) == ("sign_in", "qr")
    assert entry["device"]  # the device they signed from is theirs too
    assert data["paths"][0]["data_kept_until"] == f"{date.today().year + 4}-01-01"
    assert lea.trainee.last_name not in answer.get_data(as_text=True)
    pdf = client.get("/api/v1/me/data?format=pdf", headers=amina.headers)
    assert pdf.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.data)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Vos données personnelles" in text
    assert "Émargement d'arrivée Séance tutorat QR code à distance" in text
    assert lea.trainee.first_name not in text
    api_error(client.get("/api/v1/me/data", headers=bearer(app, tenant_a.admin)), 403)


def test_every_read_of_a_record_is_logged(app, client, tenant_a, tenant_b, region):
    admin = staff_browser(app, tenant_a.admin)
    assert admin.get(f"/stagiaires/{tenant_a.trainee.id}").status_code == 200
    client.get(f"/api/v1/trainees/{tenant_a.trainee.id}", headers=bearer(app, tenant_a.trainer))
    log = client.get(
        f"/api/v1/trainees/{tenant_a.trainee.id}/access-log", headers=bearer(app, tenant_a.admin)
    ).get_json()["items"]
    assert [(r["reader_role"], r["what"]) for r in log] == [
        ("trainer", "fiche (API)"),
        ("org_admin", "fiche"),
    ]
    assert log[0]["reader_name"] == tenant_a.trainer.full_name
    api_error(
        client.get(
            f"/api/v1/trainees/{tenant_a.trainee.id}/access-log",
            headers=bearer(app, tenant_b.admin),
        ),
        404,
    )
    own = client.get(
        f"/api/v1/trainees/{tenant_a.trainee.id}",
        headers=bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id),
    )
    assert own.status_code == 200
    assert db.session.query(RecordAccess).count() == 2  # reading one's own record is not logged


def test_erasure_now_of_what_no_law_keeps(app, client, tenant_a, monkeypatch):
    held(app, client, tenant_a, monkeypatch)
    h = bearer(app, tenant_a.admin)
    trainee = db.session.get(Trainee, tenant_a.trainee.id)
    trainee.phone = "0612345678"
    db.session.commit()
    url = f"/api/v1/trainees/{tenant_a.trainee.id}/data-requests"
    future = {"kind": "erasure", "received_on": "2099-01-01"}
    api_error(client.post(url, json=future, headers=h), 400, "invalid_dates")
    recorded = client.post(url, json={"kind": "erasure", "received_on": DAY.isoformat()}, headers=h)
    assert recorded.status_code == 201, recorded.get_json()
    assert (
        recorded.get_json()["answer_due_on"] == date.fromordinal(DAY.toordinal() + 30).isoformat()
    )
    answered = client.post(
        f"/api/v1/data-requests/{recorded.get_json()['id']}/answer",
        json={"note": "Effacement partiel ; le reste à la fin de la conservation."},
        headers=h,
    )
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["erasure_scheduled_on"] == f"{date.today().year + 4}-01-01"
    db.session.expire_all()
    assert db.session.get(Trainee, tenant_a.trainee.id).phone is None
    invitations = db.session.scalars(
        db.select(Invitation).where(Invitation.trainee_id == tenant_a.trainee.id)
    ).all()
    assert all(i.device_label is None and i.revoked_at is not None for i in invitations)
    phone = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    assert client.get("/api/v1/me/data", headers=phone).status_code == 401  # the phone is unbound
    again = client.post(
        f"/api/v1/data-requests/{recorded.get_json()['id']}/answer", json={}, headers=h
    )
    api_error(again, 409, "request_answered")


def test_the_pages(app, client, tenant_a, region, monkeypatch):
    held(app, client, tenant_a, monkeypatch)
    phone = phone_browser(app, tenant_a.admin, tenant_a.trainee)
    page = phone.get("/mes-donnees").get_data(as_text=True)
    assert "Télécharger mes données (PDF lisible)" in page
    assert phone.get("/mes-donnees.pdf").mimetype == "application/pdf"
    assert phone.get("/mes-donnees.json").get_json()["identity"]["id"] == tenant_a.trainee.id
    admin = staff_browser(app, tenant_a.admin)
    trainee_page = admin.get(f"/stagiaires/{tenant_a.trainee.id}").get_data(as_text=True)
    assert "Données personnelles (RGPD)" in trainee_page
    data_page = f"/stagiaires/{tenant_a.trainee.id}/donnees"
    assert "Aucune demande enregistrée." in admin.get(data_page).get_data(as_text=True)
    done = admin.post(
        f"/stagiaires/{tenant_a.trainee.id}/demandes",
        data={"kind": "access", "received_on": DAY.isoformat()},
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert "Demande enregistrée" in text
    assert "Accès à ses données" in text
    request_id = db.session.scalars(db.select(DataRequest)).one().id
    answered = admin.post(
        f"/stagiaires/{tenant_a.trainee.id}/demandes/{request_id}/reponse",
        data={"note": "Export envoyé par courrier."},
        follow_redirects=True,
    )
    assert "Export envoyé par courrier." in answered.get_data(as_text=True)
    assert admin.get(f"/stagiaires/{tenant_a.trainee.id}/donnees.pdf").mimetype == "application/pdf"
    listing = staff_browser(app, region).get("/donnees-personnelles").get_data(as_text=True)
    assert "Accès à ses données" in listing
    assert "Qui a consulté son dossier" in staff_browser(app, region).get(data_page).get_data(
        as_text=True
    )


def test_the_export_holds_the_company_periods_and_their_signatures(
    app, client, tenant_a, monkeypatch
):
    from tests.attendance.company_support import company_state

    found = company_state(app, client, tenant_a, monkeypatch, "trainee_signed")
    data = client.get("/api/v1/me/data", headers=found.learner.headers).get_json()
    (period,) = data["company_periods"]
    assert period["company"] == "Menuiserie Durand"
    (line,) = period["hours"]
    assert line["signed_by_you"] is not None
    assert line["signed_by_tutor"] is None
    pdf = client.get("/api/v1/me/data?format=pdf", headers=found.learner.headers)
    pages = PdfReader(io.BytesIO(pdf.data)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Périodes en entreprise (1)" in text
    assert "Menuiserie Durand" in text
