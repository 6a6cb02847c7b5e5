"""The Région withdraws a closure announced by mistake: the day is bookable again (R14), the
bookings the closure cancelled stay cancelled; nobody else may, and a refusal says why."""

from __future__ import annotations

from datetime import date, timedelta

from core.extensions import db
from core.models import Role
from sites.models import SiteClosure
from tests.conftest import bearer, make_user
from tests.page_support import staff_browser
from tests.sites.support import DAY, book, create_site, free_slot, make_org_with_trainees
from tests.sites.test_pages import text_of


def _close(app, client, region, site_id, day=DAY):  # noqa: ANN001, ANN201
    answer = client.post(
        f"/api/v1/sites/{site_id}/closures",
        json={"day": str(day), "reason": "Travaux"},
        headers=bearer(app, region),
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_r14_a_withdrawn_closure_makes_the_day_bookable_and_cancels_nothing_back(
    app, client, region
):
    site = create_site(app, client, region)
    org = make_org_with_trainees(app, client, 2)
    hit = book(app, client, org, site["id"], org.trainees[0], **free_slot()).get_json()
    _close(app, client, region, site["id"])
    refused = book(app, client, org, site["id"], org.trainees[1], **free_slot())
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "site_closed"
    answer = client.delete(
        f"/api/v1/sites/{site['id']}/closures/{DAY}", headers=bearer(app, region)
    )
    assert answer.status_code == 204
    booked = book(app, client, org, site["id"], org.trainees[1], **free_slot())
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["status"] == "confirmed"
    cancelled = client.get(f"/api/v1/bookings/{hit['id']}", headers=org.h).get_json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "Fermeture du site : Travaux"
    availability = client.get(
        f"/api/v1/sites/{site['id']}/availability?date={DAY}", headers=org.h
    ).get_json()
    assert availability["open"] is True
    assert availability["closed_reason"] is None
    assert [slot["free"] for slot in availability["slots"]] == [1, 2]  # one seat taken at 9:00


def test_only_the_region_withdraws_a_closure(app, client, region):
    site = create_site(app, client, region)
    _close(app, client, region, site["id"])
    staff = make_user(Role.SITE_STAFF, site_id=site["id"])
    org = make_org_with_trainees(app, client, 1)
    for user in (staff, org.admin):
        answer = client.delete(
            f"/api/v1/sites/{site['id']}/closures/{DAY}", headers=bearer(app, user)
        )
        assert answer.status_code == 403
    assert db.session.query(SiteClosure).count() == 1


def test_withdrawing_an_unknown_past_or_unreadable_closure_says_why_and_changes_nothing(
    app, client, region
):
    site = create_site(app, client, region)
    h = bearer(app, region)
    unknown = client.delete(f"/api/v1/sites/{site['id']}/closures/{DAY}", headers=h)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "closure_not_found"
    bad = client.delete(f"/api/v1/sites/{site['id']}/closures/demain", headers=h)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "invalid_date"
    yesterday = date.today() - timedelta(days=1)
    db.session.add(
        SiteClosure(site_id=site["id"], day=yesterday, reason="Panne", created_by_id=region.id)
    )
    db.session.commit()
    past = client.delete(f"/api/v1/sites/{site['id']}/closures/{yesterday}", headers=h)
    assert past.status_code == 409
    assert past.get_json()["error"]["code"] == "closure_in_past"
    assert "ne se retire plus" in past.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.query(SiteClosure).count() == 1


def test_the_site_page_offers_the_region_a_button_to_withdraw_a_closure(app, client, region):
    site = create_site(app, client, region)
    _close(app, client, region, site["id"])
    staff = staff_browser(app, make_user(Role.SITE_STAFF, site_id=site["id"]))
    assert "Retirer (annoncée par erreur)" not in text_of(staff.get(f"/sites/{site['id']}"))
    browser = staff_browser(app, region)
    page = text_of(browser.get(f"/sites/{site['id']}"))
    assert "Travaux" in page
    assert "Retirer (annoncée par erreur)" in page
    done = text_of(
        browser.post(f"/sites/{site['id']}/fermetures/{DAY}/retirer", follow_redirects=True)
    )
    assert "Fermeture retirée : le jour est de nouveau réservable." in done
    assert "Aucune fermeture annoncée." in done
    again = text_of(
        browser.post(f"/sites/{site['id']}/fermetures/{DAY}/retirer", follow_redirects=True)
    )
    assert "Aucune fermeture annoncée ce jour-là." in again
