"""Certificates of realisation and attendance: issued from the chained facts, recorded in the
ledger, the same file on every call; hours in the PDF equal the database's."""

from __future__ import annotations

import hashlib
from datetime import UTC

import pytest

from attendance import projection
from certificates.models import Certificate
from core.extensions import db
from tests.attendance.support import rows
from tests.certificates.certificate_support import (
    MONTH,
    database_minutes,
    held_month,
    hours_text,
    ok,
    pdf_text,
)
from tests.conftest import api_error


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def attendance_url(enrolment_id: str, month: str = MONTH) -> str:
    return f"/api/v1/enrolments/{enrolment_id}/attendance-certificate.pdf?month={month}"


def realisation_url(enrolment_id: str) -> str:
    return f"/api/v1/enrolments/{enrolment_id}/certificate.pdf"


def test_the_attendance_certificate_states_the_databases_hours(app, client, month):
    answer = ok(client.get(attendance_url(month.tenant.enrolment_id), headers=month.admin_h), 200)
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith(
        'attachment; filename="attestation-assiduite_'
    )
    text = pdf_text(answer.data)
    minutes = database_minutes(client, app, month, month.amina.id)
    assert minutes == {"tutorat": 120, "autoformation": 90}
    assert f"Tutorat (à distance, synchrone) {hours_text(120)}" in text
    assert f"Autoformation (à distance) {hours_text(90)}" in text
    assert "Regroupement (en présentiel) 0 h" in text
    assert "En entreprise 0 h" in text
    assert f"Total {hours_text(210)}" in text
    assert "ATTESTATION D'ASSIDUITÉ" in text
    assert month.tenant.trainee.full_name in text
    assert "Absences : aucune." in text
    short_id = answer.headers["X-Certificate-Id"]
    assert f"Certificat n° {short_id}" in text
    assert f"http://localhost/verifier/{short_id}" in text


def test_an_absence_and_its_reason_are_on_the_trainees_attendance_certificate(app, client, month):
    answer = ok(client.get(attendance_url(month.bruno_enrolment_id), headers=month.admin_h), 200)
    text = pdf_text(answer.data)
    assert "Rendez-vous France Travail" in text
    assert "Absent·e" in text
    assert f"Total {hours_text(0)}" in text


def test_the_certificate_of_realisation_counts_every_session_held(app, client, month):
    answer = ok(client.get(realisation_url(month.tenant.enrolment_id), headers=month.admin_h), 200)
    text = pdf_text(answer.data)
    assert "CERTIFICAT DE RÉALISATION" in text
    assert (
        f"pour une durée réalisée de {hours_text(210)}, "
        f"dont {hours_text(210)} de formation à distance" in text
    )
    assert month.tenant.org.name in text
    assert month.tenant.org.siret in text
    assert "Action de formation" in text
    assert "3 ans à compter de la fin de l'année du dernier paiement" in text


def test_issuing_again_answers_the_same_file_and_records_it_once(app, client, month):
    first = ok(client.get(realisation_url(month.tenant.enrolment_id), headers=month.admin_h), 200)
    entries = [r for r in rows() if r["kind"] == "certificate"]
    again = ok(client.get(realisation_url(month.tenant.enrolment_id), headers=month.admin_h), 200)
    assert again.data == first.data
    assert [r for r in rows() if r["kind"] == "certificate"] == entries
    (certificate,) = db.session.query(Certificate).all()
    assert certificate.sha256 == hashlib.sha256(first.data).hexdigest()
    # one entry in the chain of each session counted, naming the certificate, its hash and
    # every fact the public verification answers (R17): none is left to the editable row
    assert sorted(r["session_id"] for r in entries) == sorted(
        [month.tutorat_id, month.autoformation_id]
    )
    for entry in entries:
        assert entry["facts"] == {
            "certificate_id": certificate.id,
            "sha256": certificate.sha256,
            "trainee_id": month.amina.id,
            "enrolment_id": month.tenant.enrolment_id,
            "kind": "realisation",
            "month": "",
            "generation": 1,
            "minutes": 210,
            "fingerprint": certificate.fingerprint,
            "issued_at": certificate.issued_at.astimezone(UTC).isoformat(),
            "replaces": None,
        }
        assert [entry["session_id"], entry["seq"]] in certificate.entries


def test_the_ledger_verifies_after_issuing(app, client, runner, month):
    ok(client.get(realisation_url(month.tenant.enrolment_id), headers=month.admin_h), 200)
    ok(client.get(attendance_url(month.tenant.enrolment_id), headers=month.admin_h), 200)
    answer = ok(client.get("/api/v1/ledger/verify", headers=month.admin_h), 200).get_json()
    assert answer["ok"], answer
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    sealed = runner.invoke(args=["ledger", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert (
        ok(client.get("/api/v1/ledger/verify", headers=month.admin_h), 200).get_json()["unsealed"]
        == 0
    )


def test_a_certificate_entry_stands_after_the_close_in_a_chain():
    state = projection.SessionState(kind="tutorat", status="closed")
    assert projection.out_of_turn(state, {"kind": "certificate"}) is None
    assert projection.out_of_turn(projection.SessionState(), {"kind": "certificate"}) is not None


def test_nothing_held_in_a_month_is_nothing_to_certify(app, client, month):
    answer = client.get(attendance_url(month.tenant.enrolment_id, "2001-01"), headers=month.admin_h)
    api_error(answer, 409, "nothing_to_certify")
    api_error(
        client.get(attendance_url(month.tenant.enrolment_id, "2026-13"), headers=month.admin_h), 400
    )
