"""Help during autoformation (R8): a trainee asks, the trainers are told live, the answer is
recorded and its delay measured; both are chained; a request waiting for 2 h, or answered
after 2 h, is flagged to the organisation and the Région (a controlled clock)."""

from __future__ import annotations

import pytest

from attendance.signals import order_purged
from compliance.models import HelpRequest
from core.extensions import db, socketio
from core.models import Role
from sites.models import OutboxMail, Site
from tests.attendance.support import (
    DAY,
    Clock,
    at,
    open_session,
    plan,
    rows,
    tenant_learner,
    verify,
)
from tests.conftest import api_error, bearer, make_user
from tests.page_support import install_clock as install_page_clock
from tests.page_support import phone_browser, staff_browser


@pytest.fixture
def autoformation(app, client, tenant_a, monkeypatch):  # noqa: ANN001, ANN201
    """An open autoformation from 9:00 to 12:00, the clock at 9:10 for API and pages."""
    clock = install_page_clock(monkeypatch, Clock(at(DAY, 8, 55)))
    sid = plan(app, client, tenant_a, kind="autoformation")
    clock.set(9, 0)
    open_session(client, bearer(app, tenant_a.trainer), sid)
    clock.set(9, 10)
    return sid, clock


def ask(client, learner, sid, text="Je n'arrive pas à ouvrir l'exercice 3."):  # noqa: ANN001, ANN201
    return client.post(
        f"/api/v1/sessions/{sid}/help-requests", json={"text": text}, headers=learner.headers
    )


def test_r8_a_request_is_told_live_answered_and_chained(
    app, client, tenant_a, autoformation, monkeypatch
):
    sid, clock = autoformation
    amina = tenant_learner(app, tenant_a)
    told = []
    monkeypatch.setattr(socketio, "emit", lambda *a, **k: told.append((a, k)))
    asked = ask(client, amina, sid)
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    ((event, payload), options) = told[0]
    assert event == "help"
    assert options["namespace"] == "/live"
    assert payload["text"] == "Je n'arrive pas à ouvrir l'exercice 3."
    assert payload["name"] == tenant_a.trainee.full_name
    (mail,) = db.session.scalars(db.select(OutboxMail).where(OutboxMail.topic == "help_request"))
    assert mail.recipient == tenant_a.trainer.email  # the group's trainer, by e-mail too
    assert "Je n'arrive pas à ouvrir l'exercice 3." in mail.body
    assert f"/seances/{sid}#aide" in mail.body
    api_error(ask(client, amina, sid), 409, "help_pending")
    clock.set(9, 45)
    answered = client.post(
        f"/api/v1/help-requests/{request_id}/answer",
        json={"text": "Rechargez la page puis ouvrez l'onglet Exercices."},
        headers=bearer(app, tenant_a.trainer),
    )
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["answered_late"] is False
    assert answered.get_json()["minutes_to_answer"] == 35
    again = client.post(
        f"/api/v1/help-requests/{request_id}/answer",
        json={"text": "Encore"},
        headers=bearer(app, tenant_a.trainer),
    )
    api_error(again, 409, "help_answered")
    entries = [r for r in rows(sid) if r["kind"] in ("help_requested", "help_answered")]
    assert [(e["kind"], e["facts"]) for e in entries] == [
        ("help_requested", {"help_request_id": request_id}),
        ("help_answered", {"help_request_id": request_id}),
    ]
    assert all(e["commitment"] for e in entries)
    assert verify(client, bearer(app, tenant_a.admin))["ok"] is True
    mine = client.get(f"/api/v1/sessions/{sid}/help-requests", headers=amina.headers).get_json()
    assert mine["items"][0]["answer"] == "Rechargez la page puis ouvrez l'onglet Exercices."


def test_r8_the_live_request_reaches_the_trainer_not_the_site_staff(
    app, client, tenant_a, monkeypatch
):
    """A trainee at an access site asks for help: the trainer watching the session's live page
    is told, the site's staff watching the same session (its signatures) are not: they do not
    read help requests (GET /api/v1/help-requests refuses them)."""
    site = Site(name="Site de Millau", department="12", city="Millau", seats=8, opening_hours={})
    db.session.add(site)
    db.session.commit()
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    clock = install_page_clock(monkeypatch, Clock(at(DAY, 8, 55)))
    sid = plan(app, client, tenant_a, kind="autoformation", site_id=site.id)
    clock.set(9, 0)
    open_session(client, bearer(app, tenant_a.trainer), sid)
    clock.set(9, 10)
    watchers = {}
    for who, user in (("trainer", tenant_a.trainer), ("staff", staff)):
        token = bearer(app, user)["Authorization"].split(" ", 1)[1]
        live = socketio.test_client(
            app, namespace="/live", auth={"token": token}, flask_test_client=client
        )
        ack = live.emit("join", {"session_id": sid}, namespace="/live", callback=True)
        assert ack["ok"] is True, (who, ack)
        live.get_received("/live")
        watchers[who] = live
    try:
        assert ask(client, tenant_learner(app, tenant_a), sid).status_code == 201
        told = {
            who: [e["name"] for e in live.get_received("/live")] for who, live in watchers.items()
        }
        assert told["trainer"] == ["help"]
        assert told["staff"] == []
        refused = client.get("/api/v1/help-requests", headers=bearer(app, staff))
        assert refused.status_code == 403
    finally:
        for live in watchers.values():
            live.disconnect(namespace="/live")


def test_r8_two_hours_without_an_answer_are_flagged(app, client, tenant_a, region, autoformation):
    sid, clock = autoformation
    amina = tenant_learner(app, tenant_a)
    request_id = ask(client, amina, sid).get_json()["id"]
    admin_h = bearer(app, tenant_a.admin)
    late_url = "/api/v1/help-requests?status=late"
    clock.set(11, 10)  # exactly 2 h: not yet
    assert client.get(late_url, headers=admin_h).get_json()["items"] == []
    clock.set(11, 11)
    (flagged,) = client.get(late_url, headers=admin_h).get_json()["items"]
    assert flagged["id"] == request_id
    region_view = client.get(late_url, headers=bearer(app, region))
    assert [r["id"] for r in region_view.get_json()["items"]] == [request_id]
    trainer_view = client.get(late_url, headers=bearer(app, tenant_a.trainer))
    assert [r["id"] for r in trainer_view.get_json()["items"]] == [request_id]
    clock.set(11, 30)
    late = client.post(
        f"/api/v1/help-requests/{request_id}/answer",
        json={"text": "Désolé pour l'attente."},
        headers=bearer(app, tenant_a.trainer),
    )
    assert late.get_json()["answered_late"] is True
    assert late.get_json()["minutes_to_answer"] == 140
    assert client.get(late_url, headers=admin_h).get_json()["items"] == []
    answered = client.get("/api/v1/help-requests?status=answered", headers=admin_h)
    (still,) = answered.get_json()["items"]
    assert still["answered_late"] is True  # answered after 2 h: the pages keep flagging it


def test_r8_only_participants_of_an_open_autoformation_ask(
    app, client, tenant_a, tenant_b, autoformation
):
    sid, clock = autoformation
    amina = tenant_learner(app, tenant_a)
    api_error(ask(client, amina, sid, text=""), 400)
    outsider = tenant_learner(app, tenant_b)
    api_error(ask(client, outsider, sid), 404)
    tutorat = plan(app, client, tenant_a, start=(14, 0), end=(15, 0))
    clock.set(14, 0)
    open_session(client, bearer(app, tenant_a.trainer), tutorat)
    api_error(ask(client, amina, tutorat), 409, "not_autoformation", "R8")
    clock.set(12, 30)
    assert (
        client.post(
            f"/api/v1/sessions/{sid}/close", headers=bearer(app, tenant_a.trainer)
        ).status_code
        == 200
    )
    api_error(ask(client, amina, sid), 409, "session_not_open")
    assert db.session.query(HelpRequest).count() == 0
    finance = bearer(app, tenant_a.finance)
    api_error(client.get("/api/v1/help-requests", headers=finance), 403)


def test_r8_a_purge_erases_the_texts_and_keeps_the_delays(app, client, tenant_a, autoformation):
    sid, _ = autoformation
    request_id = ask(client, tenant_learner(app, tenant_a), sid).get_json()["id"]
    order_purged.send(tenant_a.order_id, trainee_ids={tenant_a.trainee.id})
    db.session.commit()
    stored = db.session.get(HelpRequest, request_id)
    assert stored.text is None
    assert stored.asked_at is not None


def test_r8_the_pages(app, client, tenant_a, region, autoformation):
    sid, clock = autoformation
    phone = phone_browser(app, tenant_a.admin, tenant_a.trainee)
    page = phone.get(f"/mes-seances/{sid}").get_data(as_text=True)
    assert "Besoin d&#39;aide ?" in page
    assert "Demander de l'aide</button>" in page
    sent = phone.post(
        f"/mes-seances/{sid}/aide", data={"text": "Le lien ne marche pas"}, follow_redirects=True
    )
    assert "Votre demande est envoyée" in sent.get_data(as_text=True)
    assert "Le lien ne marche pas" in sent.get_data(as_text=True)
    trainer = staff_browser(app, tenant_a.trainer)
    staff_page = trainer.get(f"/seances/{sid}").get_data(as_text=True)
    assert "Demandes d&#39;aide" in staff_page
    assert "Votre réponse" in staff_page
    request_id = db.session.scalars(db.select(HelpRequest)).one().id
    clock.set(11, 30)
    flagged = staff_browser(app, region).get("/aide").get_data(as_text=True)
    assert "Signalées (R8) : 1" in flagged
    answered = trainer.post(
        f"/aide/{request_id}/reponse", data={"text": "Essayez Firefox."}, follow_redirects=True
    )
    assert "Réponse enregistrée" in answered.get_data(as_text=True)
    assert "Essayez Firefox." in phone.get(f"/mes-seances/{sid}").get_data(as_text=True)
    admin_page = staff_browser(app, tenant_a.admin).get("/aide").get_data(as_text=True)
    assert "répondue après 2 h 20" in admin_page


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def test_r8_a_file_joined_to_a_request_is_chained_and_reaches_the_trainer(
    app, client, tenant_a, tenant_b, autoformation
):
    """The trainee joins a screenshot from the session's page; its SHA-256 is a fact of the
    request's chain entry; the session's trainer downloads it, another organisation cannot;
    a file that is not what it says is refused and nothing is recorded."""
    import hashlib
    import io

    sid, _ = autoformation
    phone = phone_browser(app, tenant_a.admin, tenant_a.trainee)
    fake = {
        "text": "Voici l'erreur",
        "file": (io.BytesIO(b"MZ\x90\x00"), "erreur.png", "image/png"),
    }
    refused = phone.post(f"/mes-seances/{sid}/aide", data=fake, follow_redirects=True)
    assert "Type de fichier refusé" in refused.get_data(as_text=True)
    assert db.session.query(HelpRequest).count() == 0
    sent = {"text": "Voici l'erreur", "file": (io.BytesIO(PNG), "capture.png", "image/png")}
    done = phone.post(f"/mes-seances/{sid}/aide", data=sent, follow_redirects=True)
    assert "Votre demande est envoyée" in done.get_data(as_text=True)
    assert "capture.png" in done.get_data(as_text=True)
    request = db.session.scalars(db.select(HelpRequest)).one()
    (entry,) = [r for r in rows(sid) if r["kind"] == "help_requested"]
    assert entry["facts"]["file_sha256"] == hashlib.sha256(PNG).hexdigest()
    trainer = client.get(
        f"/api/v1/help-requests/{request.id}/file", headers=bearer(app, tenant_a.trainer)
    )
    assert trainer.status_code == 200
    assert trainer.data == PNG
    assert trainer.headers["Content-Disposition"] == 'attachment; filename="capture.png"'
    other = client.get(
        f"/api/v1/help-requests/{request.id}/file", headers=bearer(app, tenant_b.admin)
    )
    api_error(other, 404)
    assert verify(client, bearer(app, tenant_a.admin))["ok"] is True
