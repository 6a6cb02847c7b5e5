"""Connected minutes and presence checks feed the certificates (issue 11, item 3; R16): a
tutorat held in the virtual class shows, on the attendance certificate, each trainee's time
connected and the presence checks answered out of those launched, and the certificate of
realisation says that presence was proven by the class's checks. The hours stay those of the
chained signatures (R7): connected minutes are evidence, never billed."""

from __future__ import annotations

import pytest

from tests.attendance.support import enrol
from tests.certificates.certificate_support import MONTH, hours_text, ok, pdf_text
from tests.conftest import bearer
from tests.virtualclass.conftest import NS, ask, joined


def attendance_pdf(client, admin_h, enrolment_id: str) -> str:  # noqa: ANN001
    url = f"/api/v1/enrolments/{enrolment_id}/attendance-certificate.pdf?month={MONTH}"
    return pdf_text(ok(client.get(url, headers=admin_h), 200).data)


def realisation_pdf(client, admin_h, enrolment_id: str) -> str:  # noqa: ANN001
    url = f"/api/v1/enrolments/{enrolment_id}/certificate.pdf"
    return pdf_text(ok(client.get(url, headers=admin_h), 200).data)


def enrolment_of(client, admin_h, group_id: str, trainee_id: str) -> str:  # noqa: ANN001
    items = client.get(f"/api/v1/groups/{group_id}/enrolments", headers=admin_h).get_json()
    return next(e["id"] for e in items["items"] if e["trainee_id"] == trainee_id)


def tutorat_minutes(client, trainer_h, session_id: str, trainee_id: str) -> int:  # noqa: ANN001
    sheet = ok(client.get(f"/api/v1/sessions/{session_id}/attendance", headers=trainer_h), 200)
    return sum(i["minutes"] for i in sheet.get_json()["items"] if i["trainee_id"] == trainee_id)


@pytest.fixture
def held_in_class(app, client, tenant_a, session_id, trainer_h, amina, clock):
    """The tutorat 09:00–12:00 held in the class: Amina there 09:05–10:05, answering the
    first of two presence checks; Léa enrolled but never in the class; closed at 11:00."""
    lea = enrol(app, client, tenant_a, "Léa")
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    first = ask(trainer, "presence_check", {"session_id": session_id})["check_id"]
    clock.advance(seconds=30)
    answer = ask(trainee, "presence_ack", {"session_id": session_id, "check_id": first})
    assert answer["ok"] is True, answer
    clock.set(9, 40)
    second = ask(trainer, "presence_check", {"session_id": session_id})["check_id"]
    clock.advance(seconds=app.config["CLASS_CHECK_WINDOW_S"] + 1)
    late = ask(trainee, "presence_ack", {"session_id": session_id, "check_id": second})
    assert late["error"]["code"] == "presence_check_closed"
    clock.set(10, 5)
    trainee.disconnect(NS)
    clock.set(11, 0)
    ok(client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h), 200)
    trainer.disconnect(NS)
    clock.set(17, 0)
    return lea


def test_the_attendance_certificate_shows_connected_minutes_and_checks_r16(
    app, client, tenant_a, session_id, trainer_h, amina, held_in_class
):
    admin_h = bearer(app, tenant_a.admin)
    text = attendance_pdf(client, admin_h, tenant_a.enrolment_id)
    assert "Tutorats tenus en classe virtuelle : temps de connexion et appels de présence" in text
    assert "1 h 1 répondu(s) sur 2" in text  # 09:05–10:05 connected, one check of two
    # The hours are the chain's (a virtual_class sign-in at 09:05, closed at 11:00), not the
    # 60 connected minutes (R7).
    billed = tutorat_minutes(client, trainer_h, session_id, amina.id)
    assert billed > 60
    assert f"Tutorat (à distance, synchrone) {hours_text(billed)}" in text
    assert "ce temps de connexion est une preuve, il ne compte pas d'heures (R16, R7)" in text


def test_a_trainee_never_in_the_class_shows_no_connection_and_no_answer_r16(
    app, client, tenant_a, held_in_class
):
    admin_h = bearer(app, tenant_a.admin)
    lea_enrolment = enrolment_of(client, admin_h, tenant_a.group_id, held_in_class.id)
    text = attendance_pdf(client, admin_h, lea_enrolment)
    assert "0 h 0 répondu(s) sur 2" in text
    assert "Absent·e" in text


def test_the_realisation_note_says_presence_was_proven_by_the_class_checks_r16(
    app, client, tenant_a, held_in_class
):
    text = realisation_pdf(client, bearer(app, tenant_a.admin), tenant_a.enrolment_id)
    assert (
        "Pour les tutorats tenus en classe virtuelle (1), la présence a été prouvée par les "
        "appels de présence de la classe (1 répondu(s) sur 2 lancé(s)) et par 1 h de connexion"
    ) in text


def test_a_tutorat_not_held_in_the_class_prints_no_class_evidence_r16(
    app, client, tenant_a, session_id, trainer_h, amina, clock
):
    """The trainee alone in the class (the trainer never came): not held there, nothing said."""
    trainee = joined(app, client, amina.headers, session_id)
    clock.set(10, 0)
    trainee.disconnect(NS)
    clock.set(11, 0)
    ok(client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h), 200)
    clock.set(17, 0)
    admin_h = bearer(app, tenant_a.admin)
    for text in (
        attendance_pdf(client, admin_h, tenant_a.enrolment_id),
        realisation_pdf(client, admin_h, tenant_a.enrolment_id),
    ):
        assert "tenus en classe virtuelle" not in text
        assert "appels de présence" not in text


def test_a_groups_certificates_issued_together_each_print_their_own_class_evidence_r16(
    app, client, tenant_a, held_in_class
):
    """A bulk issue asks the class once for the whole group (services.issue_group): each
    trainee's certificate still prints that trainee's minutes and answers, not another's."""
    from certificates import rules, services
    from certificates.web import issue_all_once
    from core.db import utcnow
    from core.extensions import db
    from training.models import Enrolment

    admin_h = bearer(app, tenant_a.admin)
    lea_enrolment = enrolment_of(client, admin_h, tenant_a.group_id, held_in_class.id)
    wanted = [
        services.Wanted(db.session.get_one(Enrolment, enrolment_id), kind, month)
        for enrolment_id in (tenant_a.enrolment_id, lea_enrolment)
        for kind, month in ((rules.ATTENDANCE, MONTH), (rules.REALISATION, ""))
    ]
    amina_att, amina_real, lea_att, lea_real = (
        pdf_text(result.certificate.pdf)
        for result in issue_all_once(services.OPERATOR, wanted, utcnow())
        if isinstance(result, services.Issued)
    )
    assert "1 h 1 répondu(s) sur 2" in amina_att
    assert "0 h 0 répondu(s) sur 2" not in amina_att
    assert "0 h 0 répondu(s) sur 2" in lea_att
    assert "(1 répondu(s) sur 2 lancé(s)) et par 1 h de connexion" in amina_real
    assert "(0 répondu(s) sur 2 lancé(s)) et par 0 h de connexion" in lea_real
