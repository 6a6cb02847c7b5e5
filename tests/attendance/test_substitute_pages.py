"""The substitute trainer in the pages (CCTP §4.1.2): the organisation names one on the session's
page or over a period on the group's page; the substitute reaches the session and its
émargement, and no link leads them to a page they may not see."""

from __future__ import annotations

from datetime import timedelta

from attendance.models import TrainingSession
from core.extensions import db
from core.models import Role
from tests.attendance.support import DAY, Clock, at, plan
from tests.conftest import make_user
from tests.page_support import install_clock, staff_browser
from tests.test_page_walk import walk


def test_the_organisation_names_a_substitute_on_the_session_page(
    app, client, tenant_a, monkeypatch
):
    install_clock(monkeypatch, Clock(at(DAY, 8, 0)))
    sid = plan(app, client, tenant_a)
    nadia = make_user(Role.TRAINER, tenant_a.org)
    admin = staff_browser(app, tenant_a.admin)
    page = admin.get(f"/seances/{sid}").get_data(as_text=True)
    assert "Formateur remplaçant" in page
    assert nadia.full_name in page  # offered in the list
    refused = admin.post(f"/seances/{sid}/remplacant", data={"trainer_id": nadia.id, "reason": ""})
    assert refused.status_code == 400
    assert "Indiquez la raison du remplacement." in refused.get_data(as_text=True)
    assert db.session.get(TrainingSession, sid).substitute_trainer_id is None
    done = admin.post(
        f"/seances/{sid}/remplacant",
        data={"trainer_id": nadia.id, "reason": "Congé maladie"},
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert "Remplacement enregistré." in text
    assert f"<dt>Formateur remplaçant</dt><dd>{nadia.full_name}</dd>" in text
    # The substitute: their week lists the session, its page and émargement open, and no link
    # leads to the group (not theirs).
    browser = staff_browser(app, nadia)
    seen = walk(browser, "trainer", ["/", f"/seances/{sid}"])
    assert not seen.failures(), seen.failures()
    assert f"/seances/{sid}" in seen.statuses
    assert seen.statuses[f"/seances/{sid}/emargement"] == 200
    assert f"/groupes/{tenant_a.group_id}" not in seen.statuses


def test_the_organisation_names_a_substitute_over_a_period(app, client, tenant_a, monkeypatch):
    install_clock(monkeypatch, Clock(at(DAY, 8, 0)))
    first = plan(app, client, tenant_a, day=DAY)
    second = plan(app, client, tenant_a, day=DAY + timedelta(days=2))
    nadia = make_user(Role.TRAINER, tenant_a.org)
    admin = staff_browser(app, tenant_a.admin)
    group_page = admin.get(f"/groupes/{tenant_a.group_id}").get_data(as_text=True)
    assert "Remplacer les formateurs du groupe sur une période" in group_page
    form = {
        "trainer_id": nadia.id,
        "start": DAY.isoformat(),
        "end": DAY.isoformat(),
        "reason": "Formation",
    }
    done = admin.post(f"/groupes/{tenant_a.group_id}/remplacant", data=form, follow_redirects=True)
    assert "Remplaçant nommé pour 1 séance(s)." in done.get_data(as_text=True)
    assert db.session.get(TrainingSession, first).substitute_trainer_id == nadia.id
    assert db.session.get(TrainingSession, second).substitute_trainer_id is None
    empty = {**form, "start": "2026-12-24", "end": "2026-12-25"}
    refused = admin.post(
        f"/groupes/{tenant_a.group_id}/remplacant", data=empty, follow_redirects=True
    )
    assert "Remplacement refusé : Aucune séance" in refused.get_data(as_text=True)
    trainer_page = staff_browser(app, tenant_a.trainer).get(f"/groupes/{tenant_a.group_id}")
    assert "Remplacer les formateurs" not in trainer_page.get_data(as_text=True)
