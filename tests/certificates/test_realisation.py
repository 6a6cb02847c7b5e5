"""The realisation export for SIGMA FP (R18): minutes per trainee's path and column, replayed
from the chain as the attendance sheet is (R7: autoformation without sign-out counts 0)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from certificates import exports
from tests.attendance.support import DAY, at, enrol, install_clock, plan, qr_token, tenant_learner
from tests.certificates.billing_support import MONTH, hold
from tests.conftest import bearer


def realisation(app, client, tenant, fmt: str = "json"):  # noqa: ANN001, ANN201
    answer = client.get(
        f"/api/v1/orders/{tenant.order_id}/realisation",
        query_string={"month": MONTH, "format": fmt},
        headers=bearer(app, tenant.finance),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer


def test_each_path_gets_its_hours_per_column(app, client, tenant_a, monkeypatch):
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina = tenant_learner(app, tenant_a)
    lea = enrol(app, client, tenant_a, "Léa")
    trainer_h = bearer(app, tenant_a.trainer)
    tutorat = plan(app, client, tenant_a, start=(9, 0), end=(11, 0))
    hold(app, client, tenant_a, clock, tutorat, [amina], close=(10, 30))  # Amina 90 min FAD
    auto = plan(app, client, tenant_a, kind="autoformation", start=(13, 0), end=(15, 0))
    hold(app, client, tenant_a, clock, auto, [amina, lea], start=(13, 0))
    clock.set(14, 0)
    out = client.post(
        "/api/v1/sign-outs", json={"qr": qr_token(client, trainer_h, auto)}, headers=amina.headers
    )
    assert out.status_code == 200  # Amina: 60 min of autoformation; Léa never signed out (R7)
    clock.set(15, 0)
    assert client.post(f"/api/v1/sessions/{auto}/close", headers=trainer_h).status_code == 200
    regroupement = plan(
        app,
        client,
        tenant_a,
        kind="regroupement",
        start=(15, 30),
        end=(17, 0),
        regroupement_reason="examen",
    )
    hold(app, client, tenant_a, clock, regroupement, [], start=(15, 30))
    fix = {"trainee_id": lea.id, "action": "mark_present", "reason": "Feuille papier"}
    for _ in range(2):  # corrected twice: counted once
        answer = client.post(
            f"/api/v1/sessions/{regroupement}/corrections", json=fix, headers=trainer_h
        )
        assert answer.status_code == 201
    clock.set(17, 0)
    assert (
        client.post(f"/api/v1/sessions/{regroupement}/close", headers=trainer_h).status_code == 200
    )

    body = realisation(app, client, tenant_a).get_json()
    items = {item["trainee_id"]: item for item in body["items"]}
    assert items[amina.id]["fad_minutes"] == 90
    assert items[amina.id]["autoformation_minutes"] == 60
    assert items[amina.id]["centre_minutes"] == 0
    assert items[lea.id]["autoformation_minutes"] == 0
    assert items[lea.id]["centre_minutes"] == 90
    assert items[lea.id]["company_minutes"] == 0
    assert items[amina.id]["total_hours"] == 2.5
    assert body["totals"]["total_minutes"] == 240

    answer = realisation(app, client, tenant_a, "csv")
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    headers = [c.header for c in exports.REALISATION_COLUMNS]
    assert rows[0] == headers
    table = {
        row[headers.index("Identifiant stagiaire")]: dict(zip(headers, row, strict=True))
        for row in rows[1:]
    }
    assert table[amina.id]["Heures FAD"] == "1,50"
    assert table[amina.id]["Heures autoformation"] == "1,00"
    assert table[lea.id]["Heures centre"] == "1,50"
    assert table[amina.id]["Mois"] == MONTH
    for item in body["items"]:
        line = table[item["trainee_id"]]
        for column, name in (
            ("centre", "Heures centre"),
            ("fad", "Heures FAD"),
            ("total", "Heures totales"),
        ):
            assert Decimal(line[name].replace(",", ".")) == Decimal(str(item[f"{column}_hours"]))


def test_a_path_outside_the_month_is_left_out(app, client, tenant_a):
    body = realisation(app, client, tenant_a).get_json()
    assert [item["trainee_id"] for item in body["items"]] == [tenant_a.trainee.id]
    answer = client.get(
        f"/api/v1/orders/{tenant_a.order_id}/realisation",
        query_string={"month": "1999-01"},
        headers=bearer(app, tenant_a.finance),
    )
    assert answer.get_json()["items"] == []
