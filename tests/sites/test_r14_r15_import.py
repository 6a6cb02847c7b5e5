"""R14 repositioning, R15 software requests and the Région's CSV import of sites."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Role
from sites.models import Booking, Site
from tests.conftest import api_error, bearer, make_user
from tests.sites.support import (
    DAY,
    book,
    create_site,
    free_slot,
    make_org_with_trainees,
    plan_session,
)


@pytest.fixture
def alpha(app, client):
    return make_org_with_trainees(app, client, 2, "Alpha")


@pytest.fixture
def site(app, client, region):
    return create_site(app, client, region)


def test_repositioning_home_cancels_future_bookings_and_is_kept_with_author_and_reason_R14(
    app, client, alpha, site
):
    t = alpha.trainees[0]
    before = book(app, client, alpha, site["id"], t, **free_slot(DAY)).get_json()
    after = book(app, client, alpha, site["id"], t, **free_slot(DAY + timedelta(days=7))).get_json()
    body = {
        "direction": "home",
        "from_date": str(DAY + timedelta(days=1)),
        "reason": "Connexion installée",
    }
    response = client.post(f"/api/v1/trainees/{t.id}/repositionings", json=body, headers=alpha.h)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert (record["direction"], record["cancelled"], record["author_id"]) == (
        "home",
        1,
        alpha.admin.id,
    )
    assert db.session.get(Booking, before["id"]).status == "confirmed"
    moved = db.session.get(Booking, after["id"])
    assert moved.status == "cancelled"
    assert "R14" in moved.cancel_reason
    history = client.get(f"/api/v1/trainees/{t.id}/repositionings", headers=alpha.h).get_json()
    assert [h["reason"] for h in history] == ["Connexion installée"]


def test_repositioning_to_a_site_books_the_future_distance_sessions_there_R14(
    app, client, region, alpha, site
):
    other = create_site(app, client, region, name="Cyber-base", city="Cahors")
    t = alpha.trainees[0]
    s1 = plan_session(app, client, alpha, DAY)
    s2 = plan_session(
        app, client, alpha, DAY + timedelta(days=1), kind="autoformation", start=14, end=16
    )
    elsewhere = book(app, client, alpha, other["id"], t, session_id=s1["id"]).get_json()
    body = {
        "direction": "site",
        "site_id": site["id"],
        "from_date": str(DAY),
        "reason": "Zone blanche",
    }
    response = client.post(f"/api/v1/trainees/{t.id}/repositionings", json=body, headers=alpha.h)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["cancelled"], response.get_json()["booked"]) == (1, 2)
    assert db.session.get(Booking, elsewhere["id"]).status == "cancelled"
    here = db.session.scalars(
        select(Booking.session_id).where(
            Booking.site_id == site["id"], Booking.status == "confirmed"
        )
    ).all()
    assert sorted(here) == sorted([s1["id"], s2["id"]])


def test_repositioning_in_the_past_or_without_a_site_is_refused_and_changes_nothing(
    app, client, alpha, site
):
    t = alpha.trainees[0]
    booked = book(app, client, alpha, site["id"], t, **free_slot()).get_json()
    past = {"direction": "home", "from_date": str(date.today() - timedelta(days=1)), "reason": "x"}
    api_error(
        client.post(f"/api/v1/trainees/{t.id}/repositionings", json=past, headers=alpha.h),
        422,
        "reposition_in_past",
        "R14",
    )
    nosite = {"direction": "site", "from_date": str(DAY), "reason": "x"}
    api_error(
        client.post(f"/api/v1/trainees/{t.id}/repositionings", json=nosite, headers=alpha.h),
        400,
        "site_required",
    )
    assert db.session.get(Booking, booked["id"]).status == "confirmed"


def test_software_requests_are_flagged_when_late_and_until_validated_R15(
    app, client, region, alpha, site
):
    # The group starts in 20 days: asked later than 5 weeks before, and 15 days is near.
    start = date.today() + timedelta(days=20)
    client.patch(
        f"/api/v1/groups/{alpha.group_id}", json={"start_date": str(start)}, headers=alpha.h
    )
    made = client.post(
        f"/api/v1/groups/{alpha.group_id}/software-requests",
        json={"site_id": site["id"], "software": ["LibreOffice", "Gimp"]},
        headers=alpha.h,
    )
    assert made.status_code == 201, made.get_json()
    [item] = client.get("/api/v1/software-requests", headers=alpha.h).get_json()["items"]
    messages = " ".join(f["message"] for f in item["flags"])
    assert "tardive" in messages
    assert "non validés" in messages
    assert {f["rule"] for f in item["flags"]} == {"R15"}
    assert item["request_deadline"] == str(start - timedelta(weeks=5))
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    seen = client.get("/api/v1/software-requests", headers=bearer(app, staff)).get_json()["items"]
    assert [s["id"] for s in seen] == [item["id"]]
    api_error(
        client.post(
            f"/api/v1/software-requests/{item['id']}/decision",
            json={"decision": "validated"},
            headers=alpha.h,
        ),
        403,
    )
    decided = client.post(
        f"/api/v1/software-requests/{item['id']}/decision",
        json={"decision": "validated"},
        headers=bearer(app, region),
    )
    assert decided.status_code == 200
    [after] = client.get("/api/v1/software-requests", headers=alpha.h).get_json()["items"]
    assert [f["message"] for f in after["flags"]] == [
        "Demande tardive : moins de 5 semaines avant le début (R15)."
    ]
    api_error(
        client.post(
            f"/api/v1/software-requests/{item['id']}/decision",
            json={"decision": "refused", "reason": "x"},
            headers=bearer(app, region),
        ),
        409,
        "already_decided",
    )


CSV_OK = """nom;adresse;ville;departement;postes;horaires;equipement
Espace Figeac;2 place Vival;Figeac;46;8;lun-ven 08:30-12:30, 13:30-17:30;Windows 10, Office 2016
Cyber-base Muret;1 rue Castelvielh;Muret;31;6;lun-ven 09:00-12:00 / sam 09:00-12:00;
"""


def test_the_region_imports_sites_from_csv(app, client, region):
    response = client.post(
        "/api/v1/sites/import", json={"csv": CSV_OK}, headers=bearer(app, region)
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["imported"] == 2
    muret = db.session.scalar(select(Site).where(Site.city == "Muret"))
    assert muret.opening_hours["sam"] == [["09:00", "12:00"]]
    assert muret.equipment == ["Windows 10 64 bits", "Office 2016"]


def test_one_bad_line_and_nothing_is_imported_with_a_report_of_each_refused_line(
    app, client, region
):
    bad = (
        CSV_OK
        + "Site Lyon;;Lyon;69;5;lun 09:00-12:00;\nSans postes;;Albi;81;beaucoup;lun 09:00-12:00;\n"
    )
    error = api_error(
        client.post("/api/v1/sites/import", json={"csv": bad}, headers=bearer(app, region)),
        422,
        "csv_rejected",
    )
    lines = {r["line"]: r["reason"] for r in error["details"]["rejected"]}
    assert set(lines) == {4, 5}
    assert "Occitanie" in lines[4]
    assert "postes" in lines[5]
    assert db.session.scalar(select(func.count()).select_from(Site)) == 0
    again = (
        CSV_OK.splitlines()[0]
        + "\n"
        + CSV_OK.splitlines()[1]
        + "\n"
        + CSV_OK.splitlines()[1]
        + "\n"
    )
    error = api_error(
        client.post("/api/v1/sites/import", json={"csv": again}, headers=bearer(app, region)),
        422,
        "csv_rejected",
    )
    assert error["details"]["rejected"] == [
        {"line": 3, "reason": "Ce site (même nom, même ville) existe déjà."}
    ]
