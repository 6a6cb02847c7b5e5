"""Pages: the trainee's « Mes attestations », the organisation's certificates of an order and
month (one, all with progress pushed live, the ZIP), the signatory, the public check."""

from __future__ import annotations

import html
import io
import re
import zipfile

import pytest

from certificates import events, services
from certificates.models import Certificate, CertificateBatch
from core.extensions import db, socketio
from tests.certificates.certificate_support import MONTH, held_month, ok, pdf_text
from tests.conftest import bearer
from tests.page_support import eventually, phone_browser, staff_browser

PNG = (  # a 1×1 white PNG
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def text(answer) -> str:  # noqa: ANN001
    return html.unescape(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True)))
    )


def test_the_trainee_gets_a_certificate_from_the_page_and_downloads_it(app, month):
    phone = phone_browser(app, month.tenant.admin, month.tenant.trainee)
    page = ok(phone.get("/mes-attestations"), 200)
    assert "Aucune attestation pour l'instant." in text(page)
    asked = phone.post(
        "/mes-attestations",
        data={"enrolment_id": month.tenant.enrolment_id, "kind": "attendance", "month": MONTH},
    )
    assert asked.status_code == 302
    page = text(phone.get("/mes-attestations"))
    certificate = db.session.query(Certificate).one()
    assert f"Attestation d'assiduité n° {certificate.short_id} : émis." in page
    assert f"N° {certificate.short_id}" in page
    assert "3 h 30 réalisées" in page
    pdf = ok(phone.get(f"/attestations/{certificate.short_id}.pdf"), 200)
    assert pdf.data == certificate.pdf
    # another trainee's enrolment: refused, nothing issued
    phone.post(
        "/mes-attestations",
        data={"enrolment_id": month.bruno_enrolment_id, "kind": "attendance", "month": MONTH},
    )
    assert "Parcours introuvable." in text(phone.get("/mes-attestations"))
    assert db.session.query(Certificate).count() == 1


def test_the_public_page_checks_the_number_and_an_uploaded_file(app, client, month):
    pdf = ok(
        client.get(
            f"/api/v1/enrolments/{month.tenant.enrolment_id}/certificate.pdf", headers=month.admin_h
        ),
        200,
    )
    short_id = pdf.headers["X-Certificate-Id"]
    visitor = app.test_client()
    page = text(ok(visitor.get(f"/verifier/{short_id}"), 200))
    assert "Certificat authentique." in page
    assert "A. S." in page
    assert month.tenant.trainee.last_name not in page
    assert "3 h 30" in page
    upload = {"file": (io.BytesIO(pdf.data), "c.pdf")}
    assert "Ce fichier est bien le certificat" in text(
        visitor.post(f"/verifier/{short_id}", data=upload)
    )
    altered = pdf.data[:-10] + b"%%EOF  \n\n"
    upload = {"file": (io.BytesIO(altered), "c.pdf")}
    assert "Ce fichier n'est pas le certificat" in text(
        visitor.post(f"/verifier/{short_id}", data=upload)
    )
    typed = visitor.get("/verifier", query_string={"numero": short_id.lower()})
    assert typed.status_code == 302
    assert typed.headers["Location"].endswith(f"/verifier/{short_id}")
    assert visitor.get("/verifier/AAAAAAAAAA").status_code == 404


def test_the_admin_names_the_signatory_and_it_is_on_the_certificates(app, client, month):
    admin = staff_browser(app, month.tenant.admin)
    saved = admin.post(
        "/attestations/signataire",
        data={
            "name": "Élodie Martin",
            "title": "Directrice",
            "city": "Toulouse",
            "image": (io.BytesIO(PNG), "signature.png"),
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    assert "Signataire des certificats enregistré." in text(admin.get("/attestations"))
    pdf = ok(
        client.get(
            f"/api/v1/enrolments/{month.tenant.enrolment_id}/certificate.pdf", headers=month.admin_h
        ),
        200,
    )
    words = pdf_text(pdf.data)
    assert "Je soussigné·e Élodie Martin, Directrice" in words
    assert "Fait à Toulouse, le" in words
    refused = admin.post(
        "/attestations/signataire",
        data={"name": "X", "title": "Y", "city": "Z", "image": (io.BytesIO(b"GIF89a"), "s.gif")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 302
    assert "PNG ou un JPEG" in text(admin.get("/attestations"))


def test_issue_all_from_the_page_pushes_progress_and_gives_the_zip(app, client, month, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_WORKERS", 1)
    admin = staff_browser(app, month.tenant.admin)
    page = text(ok(admin.get("/attestations", query_string={"month": MONTH}), 200))
    assert "Émettre tous les certificats du mois" in page
    started = admin.post(
        "/attestations/lots", data={"order_id": month.tenant.order_id, "month": MONTH}
    )
    assert started.status_code == 302
    batch = eventually(
        lambda: db.session.query(CertificateBatch).filter_by(status="done").one_or_none(), 30
    )
    assert batch is not None
    assert (batch.done, batch.total) == (4, 4)
    progress = ok(admin.get(f"/attestations/lots/{batch.id}"), 200).get_json()
    assert progress == {
        "batch_id": batch.id,
        "status": "done",
        "done": 4,
        "total": 4,
        "error": None,
    }
    page = text(
        admin.get("/attestations", query_string={"order_id": month.tenant.order_id, "month": MONTH})
    )
    assert "Terminée : 4 certificats traités." in page
    archive = ok(admin.get(f"/attestations/commandes/{month.tenant.order_id}/{MONTH}.zip"), 200)
    assert archive.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert len(names) == 4
    assert {c.short_id for c in db.session.query(Certificate)} == {n[-14:-4] for n in names}


def make_batch(month) -> CertificateBatch:  # noqa: ANN001
    batch = CertificateBatch(
        organisation_id=month.tenant.org.id,
        order_id=month.tenant.order_id,
        month=MONTH,
        started_by_id=month.tenant.admin.id,
    )
    db.session.add(batch)
    db.session.commit()
    return batch


def test_the_live_room_receives_each_step_then_the_end(app, client, month, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_WORKERS", 1)
    batch = make_batch(month)
    token = bearer(app, month.tenant.admin)["Authorization"].split(" ", 1)[1]
    live = socketio.test_client(
        app, namespace="/certificates", auth={"token": token}, flask_test_client=client
    )
    try:
        joined = live.emit("join", {"batch_id": batch.id}, namespace="/certificates", callback=True)
        assert joined["ok"] is True
        events.run_batch(app, batch.id)
        received = live.get_received("/certificates")
    finally:
        live.disconnect("/certificates")
    steps = [e["args"][0]["done"] for e in received if e["name"] == "progress"]
    assert steps == [4]  # a step per group, once its certificates are committed (one group)
    (end,) = [e["args"][0] for e in received if e["name"] == "finished"]
    assert (end["status"], end["done"], end["total"]) == ("done", 4, 4)


def test_the_live_room_is_the_organisations_own(app, client, month, tenant_b):
    batch = make_batch(month)
    token = bearer(app, tenant_b.admin)["Authorization"].split(" ", 1)[1]
    other = socketio.test_client(
        app, namespace="/certificates", auth={"token": token}, flask_test_client=client
    )
    try:
        refused = other.emit(
            "join", {"batch_id": batch.id}, namespace="/certificates", callback=True
        )
    finally:
        other.disconnect("/certificates")
    assert refused == {"ok": False, "error": "not_found"}
    trainer = bearer(app, month.tenant.trainer)["Authorization"].split(" ", 1)[1]
    refused_connect = socketio.test_client(
        app, namespace="/certificates", auth={"token": trainer}, flask_test_client=client
    )
    assert not refused_connect.is_connected("/certificates")


def signatory_form(image: bytes, name: str = "s.png") -> dict:
    return {
        "name": "Élodie Martin",
        "title": "Directrice",
        "city": "Toulouse",
        "image": (io.BytesIO(image), name),
    }


def picture(size: tuple[int, int], kind: str, mode: str = "RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, "white").save(out, format=kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "a PNG header then garbage"),
        (PNG[:-30], "a truncated PNG"),
        (b"\xff\xd8\xff" + b"\x00" * 50, "a JPEG header then nothing"),
        (picture((3000, 2000), "PNG", "1"), "6 million pixels (a small file)"),
        (picture((10, 10), "GIF", "P"), "a GIF"),
    ],
)
def test_r17_a_bad_signature_image_is_refused_and_certificates_still_issue(
    app, client, month, image, why
):
    admin = staff_browser(app, month.tenant.admin)
    refused = admin.post(
        "/attestations/signataire", data=signatory_form(image), content_type="multipart/form-data"
    )
    assert refused.status_code == 302, why
    assert "doit être un PNG ou un JPEG lisible" in text(admin.get("/attestations")), why
    assert services.signatory_of(month.tenant.org.id) is None  # nothing changed
    url = f"/api/v1/enrolments/{month.tenant.enrolment_id}/certificate.pdf"
    ok(client.get(url, headers=month.admin_h), 200)


def test_r17_a_signature_image_is_stored_as_a_png_read_whole(app, month):
    admin = staff_browser(app, month.tenant.admin)
    jpeg = picture((120, 40), "JPEG", "CMYK")
    admin.post(
        "/attestations/signataire",
        data=signatory_form(jpeg, "s.jpg"),
        content_type="multipart/form-data",
    )
    stored = services.signatory_of(month.tenant.org.id)
    assert stored is not None
    assert stored.signature_image is not None
    assert stored.signature_image.startswith(b"\x89PNG\r\n\x1a\n")


def test_r17_an_unreadable_stored_image_gives_the_typed_name_not_a_500(app, client, month):
    """An image stored before uploads were read whole: the certificate bears the typed name."""
    admin = staff_browser(app, month.tenant.admin)
    admin.post(
        "/attestations/signataire", data=signatory_form(PNG), content_type="multipart/form-data"
    )
    stored = services.signatory_of(month.tenant.org.id)
    stored.signature_image = b"\x89PNG\r\n\x1a\n" + b"garbage" * 10
    db.session.commit()
    url = f"/api/v1/enrolments/{month.tenant.enrolment_id}/certificate.pdf"
    words = pdf_text(ok(client.get(url, headers=month.admin_h), 200).data)
    assert "Élodie Martin, Directrice" in words
    assert "Signature du représentant légal de l'organisme" in words


@pytest.mark.parametrize(
    "back",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        " //evil.example",
        "/\r/evil.example",
    ],
)
def test_the_page_goes_back_only_to_this_site(app, month, back):
    phone = phone_browser(app, month.tenant.admin, month.tenant.trainee)
    form = {"enrolment_id": month.tenant.enrolment_id, "kind": "realisation", "back": back}
    answer = phone.post("/mes-attestations", data=form)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "evil.example" not in location
    assert location.startswith("/")
    assert not location.startswith("//")
