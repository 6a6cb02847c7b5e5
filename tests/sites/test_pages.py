"""The access sites' pages say what happened in French: the CSV import's refused lines, a full
site, the report's chart, the roster's arrivals, the outbox."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.extensions import db
from core.models import Role
from sites.models import Site
from tests.conftest import make_user
from tests.page_support import staff_browser
from tests.sites.support import (
    DAY,
    book,
    create_site,
    free_slot,
    make_org_with_trainees,
    plan_session,
)


def text_of(response) -> str:  # noqa: ANN001
    html = response.get_data(as_text=True).replace("&#39;", "'").replace("&amp;", "&")
    return re.sub(r"</?(strong|em)>", "", html)


def test_the_import_page_lists_each_refused_line_and_imports_nothing(app, region):
    browser = staff_browser(app, region)
    bad = (
        "nom;ville;departement;postes;horaires\n"
        "Espace;Foix;09;4;lun-ven 09:00-12:00\nLyon;Lyon;69;4;lun 09:00-12:00\n"
    )
    page = browser.post("/sites/importer", data={"csv": bad})
    assert page.status_code == 422
    html = text_of(page)
    assert "Import refusé : aucune ligne n'a été importée." in html
    assert "Ligne 3 : Ce département n'est pas en Occitanie." in html
    assert db.session.scalar(select(func.count()).select_from(Site)) == 0


def test_booking_a_full_site_from_the_search_says_so_in_french(app, client, region):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2)
    session = plan_session(app, client, org)
    assert (
        book(app, client, org, site["id"], org.trainees[0], session_id=session["id"]).status_code
        == 201
    )
    browser = staff_browser(app, org.admin)
    search = text_of(browser.get(f"/sites/disponibilites?department=46&date={DAY}"))
    assert "0 poste libre sur 1" in search
    assert "Mettre en liste d'attente" in search
    answer = browser.post(
        f"/sites/{site['id']}/reserver",
        data={"trainee_id": org.trainees[1].id, "session_id": session["id"]},
        follow_redirects=True,
    )
    assert "Plus aucun poste libre sur ce créneau." in text_of(answer)
    waited = browser.post(
        f"/sites/{site['id']}/reserver",
        data={"trainee_id": org.trainees[1].id, "session_id": session["id"], "waitlist": "on"},
        follow_redirects=True,
    )
    assert "Site complet : réservation inscrite en liste d'attente" in text_of(waited)


def test_the_report_draws_the_occupancy_chart_and_the_roster_lists_the_day(app, client, region):
    site = create_site(app, client, region, seats=2)
    org = make_org_with_trainees(app, client, 1)
    book(app, client, org, site["id"], org.trainees[0], **free_slot())
    staff = staff_browser(app, make_user(Role.SITE_STAFF, site_id=site["id"]))
    report = text_of(staff.get(f"/sites/{site['id']}/rapport?du={DAY}&au={DAY}"))
    assert '<svg viewBox="0 0 640 220" role="img"' in report
    assert "Taux d'occupation par jour" in report
    assert "19 % occupé" in report  # 3 h booked of 2 seats × 8 h open
    roster = text_of(staff.get(f"/sites/{site['id']}/jour?date={DAY}"))
    trainee = org.trainees[0]
    assert f"{trainee.last_name} {trainee.first_name}" in roster
    assert "09:00–12:00" in roster
    other = create_site(app, client, region, name="Autre", city="Cahors")
    assert staff.get(f"/sites/{other['id']}/jour?date={DAY}").status_code == 404  # not theirs


def test_the_outbox_shows_what_would_be_sent_without_smtp(app, client, region):
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 1)
    booking = book(app, client, org, site["id"], org.trainees[0], **free_slot()).get_json()
    staff = staff_browser(app, make_user(Role.SITE_STAFF, site_id=site["id"]))
    staff.post(f"/reservations/{booking['id']}/annuler", data={"reason": "Panne de courant"})
    outbox = text_of(staff_browser(app, region).get("/sites/boite-d-envoi"))
    assert "Aucun serveur SMTP configuré" in outbox
    assert f"À {org.admin.email}" in outbox
    assert "Panne de courant" in outbox


def test_the_groups_page_flags_a_late_software_request_R15(app, client, region):
    from datetime import date, timedelta

    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 1)
    start = date.today() + timedelta(days=20)
    client.patch(f"/api/v1/groups/{org.group_id}", json={"start_date": str(start)}, headers=org.h)
    made = client.post(
        f"/api/v1/groups/{org.group_id}/software-requests",
        json={"site_id": site["id"], "software": ["Gimp"]},
        headers=org.h,
    )
    assert made.status_code == 201
    page = text_of(staff_browser(app, org.admin).get(f"/groupes/{org.group_id}"))
    assert "Logiciels sur les postes des sites (R15)" in page
    assert "Demande tardive : moins de 5 semaines avant le début (R15)." in page
    assert "Logiciels non validés par la Région (R15)." in page


def test_the_day_roster_shows_which_booked_trainees_signed_in(app, client, region, monkeypatch):
    """Session open, one trainee signed (a personal code), the other not yet: the site's staff
    see who signed on the day's roster; a free slot has no session to sign."""
    from datetime import datetime

    from tests.attendance.support import Clock
    from tests.conftest import bearer, paris
    from tests.page_support import install_clock

    site = create_site(app, client, region, seats=3)
    org = make_org_with_trainees(app, client, 3)
    session = plan_session(app, client, org)
    for trainee in org.trainees[:2]:
        booked = book(app, client, org, site["id"], trainee, session_id=session["id"])
        assert booked.status_code == 201
    book(app, client, org, site["id"], org.trainees[2], **free_slot(start=14, end=16))
    install_clock(monkeypatch, Clock(datetime.fromisoformat(paris(DAY, 9, 5))))
    opened = client.post(f"/api/v1/sessions/{session['id']}/open", headers=bearer(app, org.trainer))
    assert opened.status_code == 200, opened.get_json()
    codes = client.post(
        f"/api/v1/sessions/{session['id']}/sign-in-codes",
        json={"trainee_ids": [org.trainees[0].id]},
        headers=org.h,
    ).get_json()
    signed = client.post("/api/v1/sign-ins", json={"code": codes[0]["code"]})
    assert signed.status_code == 201, signed.get_json()
    staff = staff_browser(app, make_user(Role.SITE_STAFF, site_id=site["id"]))
    html = text_of(staff.get(f"/sites/{site['id']}/jour?date={DAY}"))
    rows = {
        name: row
        for row in html.split("<tr>")[1:]
        for name in (f"{t.last_name} {t.first_name}" for t in org.trainees)
        if name in row
    }
    assert '<th scope="col">Émargement</th>' in html
    assert "<td>Émargé</td>" in rows[f"{org.trainees[0].last_name} {org.trainees[0].first_name}"]
    second = rows[f"{org.trainees[1].last_name} {org.trainees[1].first_name}"]
    assert "<td>Pas encore émargé</td>" in second
    free = rows[f"{org.trainees[2].last_name} {org.trainees[2].first_name}"]
    assert "<td>Sans séance</td>" in free
