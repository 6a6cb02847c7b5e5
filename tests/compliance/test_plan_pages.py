"""The plan pages: the organisation submits a group's plan from its page, the Région reads the
flags with their rules and decides; every page in every state of a plan, for both roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from compliance.models import PlanSubmission
from core.extensions import db
from tests.compliance.support import IN_TIME, LATE, add_session, on_day, submit
from tests.conftest import ORDER_START, bearer
from tests.page_support import staff_browser
from tests.test_page_walk import walk

STATES = ("none", "submitted", "validated_then_changed", "postponed", "replaced")


def bring_plan_to(app, client, tenant, region, state: str) -> None:
    if state == "none":
        return
    first = submit(app, client, tenant, component_kind="tre", component_hours=10)
    if state == "replaced":
        submit(app, client, tenant)
        return
    url = f"/api/v1/plan-submissions/{first['id']}/decision"
    if state == "postponed":
        body = {"decision": "postponed", "reason": "Semaine type à revoir."}
        assert client.post(url, json=body, headers=bearer(app, region)).status_code == 200
    if state == "validated_then_changed":
        assert (
            client.post(
                url, json={"decision": "validated"}, headers=bearer(app, region)
            ).status_code
            == 200
        )
        day = ORDER_START + timedelta(days=6)
        admin_h = bearer(app, tenant.admin)
        add_session(client, admin_h, tenant.group_id, day, (9, 0), (11, 0), title="Séance ajoutée")


@pytest.mark.parametrize("state", STATES)
def test_every_plan_page_renders_for_the_region_and_the_organisation(
    app, client, tenant_a, region, monkeypatch, state
):
    on_day(monkeypatch, IN_TIME)
    bring_plan_to(app, client, tenant_a, region, state)
    for user, starts in ((tenant_a.admin, ["/"]), (region, ["/", "/region/plans"])):
        browser = staff_browser(app, user)
        seen = walk(browser, user.role, [*starts, f"/groupes/{tenant_a.group_id}/plan"])
        assert not seen.failures(), seen.failures()
        page = seen.pages[f"/groupes/{tenant_a.group_id}/plan"]
        assert "Contrôles du plan actuel" in page
        if state == "none":
            assert "Aucun plan transmis pour ce groupe." in page
        if state in ("submitted", "postponed", "validated_then_changed"):
            assert "R21" in page
            assert "recherche d&#39;emploi" in page
        if state == "validated_then_changed":
            assert "Changements depuis le plan validé (n° 1)" in page
            assert "Ajoutée" in page
            assert "Séance ajoutée" in page
        if state == "postponed":
            assert "Report demandé par la Région" in page
            assert "Semaine type à revoir." in page
        if state == "replaced":
            assert "Remplacé par une soumission plus récente" in page


def test_the_organisation_submits_from_the_page(app, client, tenant_a, monkeypatch):
    on_day(monkeypatch, LATE)
    browser = staff_browser(app, tenant_a.admin)
    group_page = browser.get(f"/groupes/{tenant_a.group_id}").get_data(as_text=True)
    assert "Plan transmis à la Région" in group_page
    assert "Vérifier et transmettre le plan" in group_page
    form = {
        "tutorat": "6",
        "autoformation": "beaucoup",
        "regroupement": "0",
        "component_kind": "formation",
        "component_hours": "100",
    }
    refused = browser.post(f"/groupes/{tenant_a.group_id}/plan", data=form)
    assert refused.status_code == 400
    assert "Vérifiez les champs signalés." in refused.get_data(as_text=True)
    assert db.session.query(PlanSubmission).count() == 0
    form["autoformation"] = "2,5"  # a French decimal comma
    sent = browser.post(f"/groupes/{tenant_a.group_id}/plan", data=form, follow_redirects=True)
    page = sent.get_data(as_text=True)
    assert sent.status_code == 200
    assert "Plan n° 1 transmis à la Région (hors délai) : 1 point signalé." in page
    assert "hors délai" in page
    assert "Transmis, en attente de la Région" in page
    assert db.session.scalars(db.select(PlanSubmission)).one().typical_week["autoformation"] == 2.5


def test_the_region_decides_from_the_page(app, client, tenant_a, region, monkeypatch):
    on_day(monkeypatch, IN_TIME)
    submitted = submit(app, client, tenant_a)
    browser = staff_browser(app, region)
    listing = browser.get("/region/plans").get_data(as_text=True)
    assert "Groupe A" in listing
    assert "Plan n° 1" in listing
    url = f"/plans/{submitted['id']}/decision"
    refused = browser.post(url, data={"decision": "postponed", "reason": ""})
    assert refused.status_code == 400
    assert "Indiquez la raison du report" in refused.get_data(as_text=True)
    done = browser.post(url, data={"decision": "validated", "reason": ""}, follow_redirects=True)
    assert "Plan n° 1 du groupe Groupe A validé." in done.get_data(as_text=True)
    assert db.session.get(PlanSubmission, submitted["id"]).status == "validated"
    assert "Aucun plan dans cet état." in browser.get("/region/plans").get_data(as_text=True)


def test_other_organisations_and_trainers_do_not_reach_the_plan(app, client, tenant_a, tenant_b):
    assert (
        staff_browser(app, tenant_b.admin).get(f"/groupes/{tenant_a.group_id}/plan").status_code
        == 404
    )
    assert (
        staff_browser(app, tenant_a.trainer).get(f"/groupes/{tenant_a.group_id}/plan").status_code
        == 403
    )
    trainer_group = staff_browser(app, tenant_a.trainer).get(f"/groupes/{tenant_a.group_id}")
    assert "Plan transmis à la Région" not in trainer_group.get_data(as_text=True)
