"""Public verification: genuine or not, superseded or not, hours, initials only; a PDF altered
by one byte is not genuine; a certificate issued again after a correction supersedes."""

from __future__ import annotations

import hashlib

import pytest

from certificates.models import Certificate
from core.extensions import db
from tests.certificates.certificate_support import MONTH, held_month, ok
from tests.conftest import api_error


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def issue(client, month, enrolment_id=None):  # noqa: ANN001, ANN201
    enrolment_id = enrolment_id or month.tenant.enrolment_id
    url = f"/api/v1/enrolments/{enrolment_id}/attendance-certificate.pdf?month={MONTH}"
    return ok(client.get(url, headers=month.admin_h), 200)


def verify(client, short_id, **query):  # noqa: ANN001, ANN201
    return ok(
        client.get(f"/api/v1/certificates/{short_id}/verify", query_string=query), 200
    ).get_json()


def test_anyone_checks_a_certificate_and_learns_only_initials_and_hours(client, month):
    pdf = issue(client, month)
    short_id = pdf.headers["X-Certificate-Id"]
    answer = verify(client, short_id)
    assert answer == {
        "id": short_id,
        "valid": True,
        "sha256": hashlib.sha256(pdf.data).hexdigest(),
        "issued_at": answer["issued_at"],
        "trainee_initials": "A. S.",
        "hours": 3.5,
        "kind": "attendance",
        "month": MONTH,
        "superseded": False,
        "outdated": False,
    }
    assert answer["issued_at"].endswith("+01:00")  # Paris time, winter
    assert month.tenant.trainee.last_name not in str(answer)
    # typed by hand from the paper: lower case, spaces and dashes are forgiven
    assert verify(client, f"{short_id[:5].lower()} {short_id[5:]}")["valid"] is True


def test_the_exact_file_is_genuine_and_one_changed_byte_is_not(client, month):
    pdf = issue(client, month)
    short_id = pdf.headers["X-Certificate-Id"]
    altered = bytearray(pdf.data)
    altered[len(altered) // 2] ^= 0x01
    url = f"/api/v1/certificates/{short_id}/verify"
    as_body = ok(client.post(url, data=pdf.data, content_type="application/pdf"), 200).get_json()
    assert as_body["genuine"] is True
    bad = ok(client.post(url, data=bytes(altered), content_type="application/pdf"), 200).get_json()
    assert bad["genuine"] is False
    assert bad["valid"] is True  # the certificate itself stands: the file is not it
    from io import BytesIO

    form = {"file": (BytesIO(bytes(altered)), "certificat.pdf")}
    assert (
        ok(client.post(url, data=form, content_type="multipart/form-data"), 200).get_json()[
            "genuine"
        ]
        is False
    )
    by_hash = verify(client, short_id, sha256=hashlib.sha256(pdf.data).hexdigest().upper())
    assert by_hash["genuine"] is True
    api_error(client.post(url, data=b"{}", content_type="application/json"), 400, "invalid_input")


def test_unknown_or_malformed_ids_answer_404(client, month):
    api_error(client.get("/api/v1/certificates/AAAAAAAAAA/verify"), 404, "certificate_not_found")
    api_error(client.get("/api/v1/certificates/not-an-id/verify"), 404, "certificate_not_found")


def test_a_tampered_record_is_not_valid(client, month):
    pdf = issue(client, month)
    certificate = db.session.query(Certificate).one()
    forged = hashlib.sha256(b"another file").hexdigest()
    certificate.sha256 = forged  # someone with the database swaps the hash of another file
    db.session.commit()
    answer = verify(client, pdf.headers["X-Certificate-Id"], sha256=forged)
    assert answer["valid"] is False
    assert answer["genuine"] is False


def test_a_correction_then_issuing_again_supersedes_the_old_certificate(app, client, month):
    first = issue(client, month, month.bruno_enrolment_id)
    old_id = first.headers["X-Certificate-Id"]
    correction = {
        "trainee_id": month.bruno.id,
        "action": "mark_present",
        "reason": "Feuille papier signée",
    }
    ok(
        client.post(
            f"/api/v1/sessions/{month.tutorat_id}/corrections",
            json=correction,
            headers=month.admin_h,
        )
    )
    second = issue(client, month, month.bruno_enrolment_id)
    new_id = second.headers["X-Certificate-Id"]
    assert new_id != old_id
    assert second.data != first.data
    old = verify(client, old_id, sha256=hashlib.sha256(first.data).hexdigest())
    assert old["valid"] is True
    assert old["genuine"] is True
    assert old["superseded"] is True
    assert old["superseded_by"] == new_id
    assert old["hours"] == 0
    new = verify(client, new_id)
    assert new["superseded"] is False
    assert new["hours"] == 2.0
    assert "superseded_by" not in new
