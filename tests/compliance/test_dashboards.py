"""The Région's dashboards: rollups kept as sessions close, always equal to what the chains
say; figures equal to a direct computation (the attendance sheets, the billing export);
each organisation sees its own only; every open flag names its rule."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, select

from compliance import rollups
from compliance.models import GroupRollup, SessionRollup
from core.extensions import db
from tests.attendance.support import DAY, at, enrol, install_clock, plan, tenant_learner
from tests.certificates.billing_support import MONTH, billing_of, hold
from tests.compliance.support import on_day, submit
from tests.conftest import api_error, bearer

COMPARED = (
    "organisation_id",
    "order_id",
    "group_id",
    "month",
    "kind",
    "whole_group",
    "planned_minutes",
    "realised_minutes",
    "participants",
    "present",
    "absent_not_signed",
    "absent_justified",
    "absent_unjustified",
    "held",
    "billable_start",
    "billable_stop",
)


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):  # noqa: ANN001, ANN201
    """A tutorat held 9:00–12:00 closed at 11:30 (Amina signed, Léa absent, then corrected
    present), a regroupement nobody signed 14:00–16:00, an autoformation planned tomorrow."""
    clock = install_clock(monkeypatch, at(DAY, 8, 50))
    amina, lea = tenant_learner(app, tenant_a), enrol(app, client, tenant_a, "Léa")
    tutorat = plan(app, client, tenant_a)
    quiet = plan(app, client, tenant_a, start=(14, 0), end=(16, 0))
    hold(app, client, tenant_a, clock, tutorat, [amina], close=(11, 30))
    correction = {"trainee_id": lea.id, "action": "mark_present", "reason": "Oubli du QR code"}
    fixed = client.post(
        f"/api/v1/sessions/{tutorat}/corrections",
        json=correction,
        headers=bearer(app, tenant_a.trainer),
    )
    assert fixed.status_code == 201, fixed.get_json()
    hold(app, client, tenant_a, clock, quiet, [], start=(14, 0), close=(16, 0), trainer_signs=False)
    plan(app, client, tenant_a, kind="autoformation", day=DAY.replace(day=DAY.day + 1))
    return {"tutorat": tutorat, "quiet": quiet, "amina": amina, "lea": lea}


def dashboard(app, client, user, **query):  # noqa: ANN001, ANN201
    params = {k: v for k, v in {"month": MONTH, **query}.items() if v is not None}
    answer = client.get("/api/v1/dashboards", query_string=params, headers=bearer(app, user))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_rollups_are_kept_as_sessions_close_and_equal_the_chains(app, client, tenant_a, month):
    """A test of the rule: every stored row equals the row derived afresh from the chain."""
    stored = {r.session_id: r for r in db.session.scalars(select(SessionRollup))}
    assert set(stored) == {month["tutorat"], month["quiet"]}
    tutorat = stored[month["tutorat"]]
    assert (tutorat.participants, tutorat.present) == (2, 2)  # Léa corrected after the close
    assert tutorat.realised_minutes == 150 + 150  # both to the close at 11:30
    assert tutorat.held is True
    quiet = stored[month["quiet"]]
    # one afternoon half-day, two trainees, nobody signed
    assert (quiet.held, quiet.present, quiet.absent_not_signed) == (False, 0, 2)
    from attendance.models import TrainingSession

    for session_id, row in stored.items():
        fresh = rollups.derive(db.session.get(TrainingSession, session_id), row.updated_at)
        assert {c: getattr(fresh, c) for c in COMPARED} == {c: getattr(row, c) for c in COMPARED}
    # The group's month: the union of its held sessions' spans, as derived again.
    (group,) = db.session.scalars(select(GroupRollup)).all()
    again = rollups.group_billable(group.group_id, group.month)
    assert again is not None
    assert group.billable_minutes == again.billable_minutes == 150  # 9:00 to the close, 11:30


def test_the_figures_equal_a_direct_computation(app, client, tenant_a, region, month):
    board = dashboard(app, client, region, scope="region")
    (org,) = board["organisations"]
    assert org["organisation_id"] == tenant_a.org.id
    sheets = [
        client.get(
            f"/api/v1/sessions/{sid}/attendance", headers=bearer(app, tenant_a.admin)
        ).get_json()
        for sid in (month["tutorat"], month["quiet"])
    ]
    people = [p for sheet in sheets for p in sheet["items"]]
    assert org["realised_hours"] == round(sum(p["minutes"] for p in people) / 60, 2)
    present = sum(p["status"] == "present" for p in people)
    assert org["attendance_rate"] == round(present / len(people), 4)
    billed = billing_of(app, client, tenant_a)
    assert org["billable_hours"] == billed["totals"]["billable_hours"]
    # planned: the tutorat (3 h), the quiet regroupement (2 h), tomorrow's autoformation (3 h);
    # the tenant's own session is in January
    assert org["planned_hours"] == 3 + 2 + 3
    assert board["totals"]["realised_hours"] == org["realised_hours"]
    assert board["departments"][0]["department"] == "—"


def test_each_organisation_sees_its_own(app, client, tenant_a, tenant_b, region, month):
    mine = dashboard(app, client, tenant_b.admin)
    assert [o["organisation_id"] for o in mine["organisations"]] in ([], [tenant_b.org.id])
    assert tenant_a.order_id not in str(mine)
    api_error(
        client.get(
            "/api/v1/dashboards",
            query_string={"scope": "region", "month": MONTH},
            headers=bearer(app, tenant_a.admin),
        ),
        403,
    )
    narrowed = dashboard(app, client, region, scope="region", organisation_id=tenant_b.org.id)
    assert tenant_a.org.id not in str(narrowed)
    api_error(
        client.get(
            "/api/v1/dashboards",
            query_string={"month": MONTH},
            headers=bearer(app, tenant_a.trainer),
        ),
        403,
    )
    api_error(
        client.get(
            "/api/v1/dashboards", query_string={"month": "2026-13"}, headers=bearer(app, region)
        ),
        400,
    )


def test_open_flags_name_their_rules(app, client, tenant_a, region, month, monkeypatch):
    on_day(monkeypatch, DAY)
    submit(app, client, tenant_a, component_kind="tre", component_hours=5)
    board = dashboard(app, client, region, scope="region")
    rules = {(f["rule"], f["code"]) for f in board["flags"]}
    assert ("R21", "job_search_too_short") in rules
    flag = next(f for f in board["flags"] if f["rule"] == "R21")
    assert flag["link"] == f"/groupes/{tenant_a.group_id}/plan"


def test_a_year_and_the_csv(app, client, tenant_a, region, month):
    year = dashboard(app, client, region, scope="region", year=MONTH[:4], month=None)
    month_board = dashboard(app, client, region, scope="region")
    assert year["totals"]["realised_hours"] == month_board["totals"]["realised_hours"]
    answer = client.get(
        "/api/v1/dashboards",
        query_string={"scope": "region", "month": MONTH, "format": "csv"},
        headers=bearer(app, region),
    )
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeffOrganisme;Bon de commande")
    (row,) = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert row["Heures réalisées"] == str(month_board["totals"]["realised_hours"]).replace(".", ",")


def test_the_dashboard_page_for_the_region_and_an_organisation(
    app, client, tenant_a, tenant_b, region, month
):
    from tests.page_support import staff_browser

    page = staff_browser(app, region).get(f"/tableau-de-bord?periode={MONTH}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Tableau de bord régional" in text
    assert tenant_a.org.name in text
    assert "Chiffres par organisme" in text
    narrowed = staff_browser(app, region).get(
        f"/tableau-de-bord?periode={MONTH}&organisme={tenant_b.org.id}"
    )
    assert tenant_a.org.name not in narrowed.get_data(as_text=True).split("Totaux")[1]
    bad = staff_browser(app, region).get("/tableau-de-bord?periode=mars")
    assert "Indiquez un mois (AAAA-MM) ou une année (AAAA)." in bad.get_data(as_text=True)
    own = (
        staff_browser(app, tenant_b.admin)
        .get(f"/tableau-de-bord?periode={MONTH}")
        .get_data(as_text=True)
    )
    assert "Tableau de bord de l&#39;organisme" in own
    assert tenant_a.org.name not in own
    csv_file = staff_browser(app, tenant_a.finance).get(f"/tableau-de-bord.csv?periode={MONTH}")
    assert csv_file.get_data(as_text=True).startswith("\ufeffOrganisme;")


def test_the_rows_of_sessions_closed_before_the_rollups_are_derived_once(
    app, client, region, month, runner
):
    """After an upgrade, `flask --app wsgi compliance rollups` derives the rows of the
    sessions closed before the rollups existed: the same figures as if kept all along."""
    before = dashboard(app, client, region, scope="region")["totals"]
    db.session.execute(delete(GroupRollup))
    db.session.execute(delete(SessionRollup))
    db.session.commit()
    assert dashboard(app, client, region, scope="region")["totals"]["realised_hours"] == 0
    done = runner.invoke(args=["compliance", "rollups"])
    assert done.exit_code == 0, done.output
    assert "2 séances closes recalculées" in done.output
    assert dashboard(app, client, region, scope="region")["totals"] == before


def test_a_period_not_written_yyyy_mm_or_yyyy_is_refused(app, client, region):
    for query in ({"month": "2026-3"}, {"month": "2026-03\n"}, {"year": "26"}):
        answer = client.get("/api/v1/dashboards", query_string=query, headers=bearer(app, region))
        api_error(answer, 400)
    both = {"month": "2026-03", "year": "2026"}
    answer = client.get("/api/v1/dashboards", query_string=both, headers=bearer(app, region))
    api_error(answer, 400, "invalid_period")


def test_situations_due_are_an_open_flag_r23(app, client, tenant_a, region, month, monkeypatch):
    """The test order ended on 30 November: its trainee's exit situation is due (R23)."""
    import compliance.dashboard_routes

    later = at(DAY.replace(month=12, day=2), 12)
    monkeypatch.setattr(compliance.dashboard_routes, "utcnow", lambda: later)
    board = dashboard(app, client, region, scope="region")
    (flag,) = [f for f in board["flags"] if f["rule"] == "R23"]
    assert flag["organisation_id"] == tenant_a.org.id
    assert flag["message"].startswith("2 situations")  # Amina and Léa
