"""After the retention purge (attendance/retention.py): a certificate's PDF is gone, so it is
answered 410 `certificate_purged`, never an empty file; the order's certificates are never
issued again (the purge erased the absences' reasons, which is no correction: R7, R17); the
public verification still says genuine and not superseded, the names « données effacées »."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from attendance import retention
from certificates import services
from certificates.models import Certificate, PurgedOrder
from core.extensions import db
from tests.certificates.certificate_support import MONTH, held_month, ok
from tests.conftest import api_error
from tests.page_support import phone_browser, staff_browser
from training.models import Order


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def urls(month) -> list[str]:  # noqa: ANN001
    enrolment = month.tenant.enrolment_id
    return [
        f"/api/v1/enrolments/{enrolment}/certificate.pdf",
        f"/api/v1/enrolments/{enrolment}/attendance-certificate.pdf?month={MONTH}",
    ]


def purge(month) -> None:  # noqa: ANN001
    order = db.session.get_one(Order, month.tenant.order_id)
    after = datetime.combine(retention.retention_ends(order), datetime.min.time(), tzinfo=UTC)
    retention.purge_order(order.id, after)
    db.session.commit()
    db.session.expire_all()


def text(answer) -> str:  # noqa: ANN001
    body = re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True))
    return html.unescape(re.sub(r"\s+", " ", body))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Certificate)) or 0


def test_r17_a_purged_certificate_is_410_and_never_issued_again(app, client, month):
    issued = [ok(client.get(url, headers=month.admin_h), 200) for url in urls(month)]
    short_ids = [answer.headers["X-Certificate-Id"] for answer in issued]
    purge(month)
    assert db.session.get(PurgedOrder, month.tenant.order_id) is not None
    for url in urls(month):
        error = api_error(client.get(url, headers=month.admin_h), 410, "certificate_purged")
        assert "effacées" in error["message"]
    # Bruno had none: none is issued after the purge either
    bruno = f"/api/v1/enrolments/{month.bruno_enrolment_id}/certificate.pdf"
    api_error(client.get(bruno, headers=month.admin_h), 410, "certificate_purged")
    assert count() == 2
    admin = staff_browser(app, month.tenant.admin)
    assert admin.get(f"/attestations/{short_ids[0]}.pdf").status_code == 410
    for short_id in short_ids:
        answer = client.get(f"/api/v1/certificates/{short_id}/verify").get_json()
        assert (answer["valid"], answer["superseded"], answer["outdated"]) == (True, False, False)
        assert answer["trainee_initials"] == services.ERASED
        page = text(ok(app.test_client().get(f"/verifier/{short_id}"), 200))
        assert "Certificat authentique." in page
        assert "données effacées" in page
        assert "remplacé" not in page
        assert "—. —." not in page


def test_a_purged_orders_month_gives_no_zip_of_empty_files_nor_a_new_batch(
    app, client, month, runner
):
    for url in urls(month):
        ok(client.get(url, headers=month.admin_h), 200)
    admin = staff_browser(app, month.tenant.admin)
    zip_url = f"/attestations/commandes/{month.tenant.order_id}/{MONTH}.zip"
    with zipfile.ZipFile(io.BytesIO(ok(admin.get(zip_url), 200).data)) as archive:
        assert all(info.file_size > 0 for info in archive.infolist())
    purge(month)
    assert admin.get(zip_url).status_code == 410
    started = admin.post(
        "/attestations/lots", data={"order_id": month.tenant.order_id, "month": MONTH}
    )
    assert started.status_code == 302
    page = text(admin.get("/attestations", query_string={"month": MONTH}))
    assert "ce certificat ne peut plus être délivré" in page  # the flash of the refused batch
    assert "Données effacées :" in page
    assert "Émettre tous les certificats du mois" not in page
    assert "Télécharger le ZIP du mois" not in page
    done = runner.invoke(
        args=["certificates", "issue", "--order", month.tenant.order_id, "--month", MONTH]
    )
    assert done.exit_code != 0
    assert "effacées" in done.output
    assert count() == 2


def test_the_trainees_list_says_the_pdf_was_erased(app, client, month):
    ok(client.get(urls(month)[0], headers=month.admin_h), 200)
    phone = phone_browser(app, month.tenant.admin, month.tenant.trainee)
    assert "Télécharger le PDF" in text(phone.get("/mes-attestations"))
    purge(month)
    page = text(ok(phone.get("/mes-attestations"), 200))
    assert "PDF effacé (fin de la durée de conservation)" in page
    assert "Télécharger le PDF" not in page
