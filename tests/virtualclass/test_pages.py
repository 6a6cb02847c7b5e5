"""The class's pages (R16): the class in each state for the trainer and a trainee, the way in
from the session pages, the attendance sheet's class section, files (types, sizes, who may
download), the external conference link; another tenant's ids answer 404."""

from __future__ import annotations

import re

import pytest

from attendance.models import TrainingSession
from core.extensions import db
from core.models import Role
from tests.attendance.support import open_session, plan, qr_token, sign_in
from tests.conftest import make_user
from tests.page_support import phone_browser, staff_browser
from tests.virtualclass.conftest import NS, joined, received
from virtualclass.models import ClassFile

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def trainer_browser(app, tenant_a):
    return staff_browser(app, tenant_a.trainer)


@pytest.fixture
def phone(app, tenant_a):
    return phone_browser(app, tenant_a.admin, tenant_a.trainee)


def test_planned_the_class_says_when_it_opens(app, client, tenant_a, clock, trainer_browser, phone):
    sid = plan(app, client, tenant_a)
    page = text_of(phone.get(f"/classe/{sid}").get_data(as_text=True))
    assert "La classe ouvrira quand le formateur ouvrira la séance" in page
    mine = text_of(phone.get(f"/mes-seances/{sid}").get_data(as_text=True))
    assert "La classe virtuelle ouvrira avec la séance" in mine
    assert "Entrer dans la classe virtuelle" not in mine
    trainer_page = text_of(trainer_browser.get(f"/classe/{sid}").get_data(as_text=True))
    assert "La classe ouvrira quand vous ouvrirez la séance" in trainer_page


def test_open_the_class_page_holds_the_live_class(session_id, trainer_browser, phone):
    mine = phone.get(f"/mes-seances/{session_id}").get_data(as_text=True)
    assert f'href="/classe/{session_id}"' in mine
    page = phone.get(f"/classe/{session_id}").get_data(as_text=True)
    assert 'id="classe"' in page
    assert 'data-trainer="non"' in page
    assert "Faire l'appel" not in page  # the trainer's controls only
    for part in (
        "Participants",
        "Discussion",
        "Tableau blanc",
        "Fichiers partagés",
        "Lever la main",
    ):
        assert part in page
    assert "/classe/static/vendor/janus-1.1.2.min.js" in page  # served here, no CDN
    # Remote control (R16): the consent asked of the trainee, hidden until a request comes.
    assert 'id="guidage-demande" class="notice warning" hidden role="alertdialog"' in page
    assert "vous gardez la main et pouvez arrêter à tout moment" in page
    assert "/classe/static/control.js" in page
    trainer_page = trainer_browser.get(f"/classe/{session_id}").get_data(as_text=True)
    assert "Faire l'appel" in trainer_page
    assert "Terminer la classe" in trainer_page
    assert 'data-trainer="oui"' in trainer_page


def test_the_vendored_scripts_are_served(client):
    for name in (
        "vendor/janus-1.1.2.min.js",
        "vendor/webrtc-adapter-8.2.0.min.js",
        "class.js",
        "control.js",
    ):
        answer = client.get(f"/classe/static/{name}")
        assert answer.status_code == 200
        assert answer.mimetype in ("text/javascript", "application/javascript")
        answer.close()


def test_closed_the_class_says_it_ended_and_keeps_the_files(
    app, client, session_id, trainer_h, trainer_browser, phone
):
    shared = trainer_browser.post(
        f"/classe/{session_id}/fichiers",
        data={"file": (_io(PDF), "support.pdf", "application/pdf")},
    )
    assert shared.status_code == 302
    client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h)
    page = text_of(phone.get(f"/classe/{session_id}").get_data(as_text=True))
    assert "La classe est terminée" in page
    assert "support.pdf" in page
    assert "Partager un fichier" not in page
    trainer_page = text_of(trainer_browser.get(f"/classe/{session_id}").get_data(as_text=True))
    assert "La classe est terminée" in trainer_page
    assert "Visioconférence externe" not in trainer_page  # nothing left to set once closed


def test_an_autoformation_has_no_class(
    app, client, tenant_a, clock, trainer_h, phone, trainer_browser
):
    sid = plan(app, client, tenant_a, kind="autoformation")
    open_session(client, trainer_h, sid)
    for browser in (phone, trainer_browser):
        page = text_of(browser.get(f"/classe/{sid}").get_data(as_text=True))
        assert "cette séance n'a pas de classe virtuelle" in page
    assert "Classe virtuelle" not in text_of(
        phone.get(f"/mes-seances/{sid}").get_data(as_text=True)
    )


def test_who_may_open_the_class_page(app, tenant_a, tenant_b, session_id):
    assert staff_browser(app, tenant_b.trainer).get(f"/classe/{session_id}").status_code == 404
    other = phone_browser(app, tenant_b.admin, tenant_b.trainee)
    assert other.get(f"/classe/{session_id}").status_code == 404
    assert staff_browser(app, tenant_a.admin).get(f"/classe/{session_id}").status_code == 403


def test_the_attendance_sheet_shows_connected_minutes_checks_and_flags(
    app, client, tenant_a, session_id, trainer_h, amina, clock, trainer_browser
):
    trainer = joined(app, client, trainer_h, session_id)
    assert trainer.emit("presence_check", {"session_id": session_id}, namespace=NS, callback=True)[
        "ok"
    ]
    clock.advance(minutes=10)
    assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
    page = trainer_browser.get(f"/seances/{session_id}/emargement").get_data(as_text=True)
    row = text_of(re.search(rf'<tr id="classe-{amina.id}">.*?</tr>', page, flags=re.S).group(0))
    assert "0 min" in row
    assert "0 / 1" in row
    assert "QR scanné à 09:15 sans être dans la classe" in row
    assert "un QR transmis par un tiers ne prouve pas la présence" in page
    admin = staff_browser(app, tenant_a.admin)
    assert "Minutes connecté·e" in admin.get(f"/seances/{session_id}").get_data(as_text=True)


# --- files (point 5) ------------------------------------------------------------------------


def _io(data: bytes):  # noqa: ANN202
    import io

    return io.BytesIO(data)


def test_a_shared_file_is_announced_and_only_participants_download_it(
    app, client, tenant_a, tenant_b, session_id, trainer_h, amina, trainer_browser, phone
):
    watcher = joined(app, client, amina.headers, session_id)
    answer = trainer_browser.post(
        f"/classe/{session_id}/fichiers",
        data={"file": (_io(PDF), "../Support cours.pdf", "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 201
    notice = answer.get_json()
    assert notice["name"] == "Support cours.pdf"
    assert received(watcher, "file")[0]["id"] == notice["id"]
    download = phone.get(notice["url"])
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    outsider = phone_browser(app, tenant_b.admin, tenant_b.trainee)
    assert outsider.get(notice["url"]).status_code == 404
    assert staff_browser(app, tenant_b.trainer).get(notice["url"]).status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "mimetype", "code"),
    [
        (b"MZ\x90\x00 not a pdf", "virus.pdf", "application/pdf", "file_type_refused"),
        (b"#!/bin/sh\n", "script.sh", "application/x-sh", "file_type_refused"),
        (b"", "vide.pdf", "application/pdf", "empty_file"),
    ],
)
def test_a_refused_file_says_why_and_stores_nothing(
    session_id, phone, content, name, mimetype, code
):
    answer = phone.post(
        f"/classe/{session_id}/fichiers",
        data={"file": (_io(content), name, mimetype)},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == code
    assert db.session.query(ClassFile).count() == 0
    page = phone.post(
        f"/classe/{session_id}/fichiers",
        data={"file": (_io(content), name, mimetype)},
        follow_redirects=True,
    )
    assert answer.get_json()["error"]["message"] in page.get_data(as_text=True)


def test_a_file_over_the_limit_is_refused(app, session_id, phone, monkeypatch):
    monkeypatch.setitem(app.config, "CLASS_FILE_MAX_BYTES", 100 * 1024)
    big = PDF + b"0" * (100 * 1024)
    answer = phone.post(
        f"/classe/{session_id}/fichiers",
        data={"file": (_io(big), "gros.pdf", "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"] == {
        "code": "file_too_large",
        "message": "Fichier trop volumineux (100 Ko au plus).",
    }
    assert db.session.query(ClassFile).count() == 0


def test_the_trainer_sets_an_external_conference_link(session_id, trainer_browser, phone):
    refused = trainer_browser.post(
        f"/classe/{session_id}/lien",
        data={"conference_url": "http://jitsi.example/x"},
        follow_redirects=True,
    )
    assert "commence par https://" in refused.get_data(as_text=True)
    trainer_browser.post(
        f"/classe/{session_id}/lien", data={"conference_url": "https://meet.jit.si/cours-42"}
    )
    page = phone.get(f"/classe/{session_id}").get_data(as_text=True)
    assert 'href="https://meet.jit.si/cours-42"' in page
    assert phone.post(f"/classe/{session_id}/lien", data={"conference_url": ""}).status_code == 403


def test_the_sheet_section_is_on_the_session_page_of_region_and_finance(
    app, tenant_a, session_id, region
):
    finance = staff_browser(app, tenant_a.finance)
    for browser in (finance, staff_browser(app, region)):
        page = browser.get(f"/seances/{session_id}").get_data(as_text=True)
        assert "Minutes connecté·e" in page
        assert "Entrer dans la classe virtuelle" not in page
    assert make_user(Role.TRAINER, tenant_a.org) is not None
    assert db.session.get(TrainingSession, session_id).is_open()


def test_a_purged_order_erases_its_classes_files(app, session_id, tenant_a, trainer_browser):
    from datetime import UTC, datetime

    from attendance import retention
    from training.models import Order

    shared = trainer_browser.post(
        f"/classe/{session_id}/fichiers",
        data={"file": (_io(PDF), "support.pdf", "application/pdf")},
    )
    assert shared.status_code == 302
    order = db.session.get(Order, tenant_a.order_id)
    after = datetime(order.end_date.year + 4, 1, 2, tzinfo=UTC)
    retention.purge_order(order.id, after)
    db.session.commit()
    assert db.session.query(ClassFile).count() == 0
