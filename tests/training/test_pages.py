"""Browser pages: what an organisation admin, finance, a trainer and a trainee see and can do."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from attendance.rules import PARIS
from core.db import utcnow
from core.extensions import db
from core.models import Role
from core.templating import french_date, french_datetime, french_hours
from tests.conftest import (
    ORDER_START,
    PASSWORD,
    THIS_YEAR,
    bearer,
    make_trainee,
    make_user,
    order_data,
    paris,
    principal_of,
)
from training import services
from training.models import Group, Order


def login(client, user):
    """Sign a staff member in through the login form, as a browser does."""
    answer = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def login_trainee(client, tenant):
    """A trainee's phone, bound by the invitation the tenant redeemed."""
    with client.session_transaction() as cookie:
        cookie.update(kind="trainee", uid=tenant.trainee.id, dev=tenant.invitation_id)


def text(answer) -> str:
    return answer.get_data(as_text=True)


def order_number(tenant) -> str:
    order = db.session.get(Order, tenant.order_id)
    assert order is not None
    return order.number


def session_form(**overrides):
    form = {
        "kind": "tutorat",
        "title": "Jeux de rôle",
        "day": (ORDER_START + timedelta(days=8)).isoformat(),
        "start_time": "09:00",
        "end_time": "12:00",
        "regroupement_reason": "",
    }
    form.update(overrides)
    return form


def enrol_form(tenant, trainee_id, **overrides):
    form = {
        "trainee_id": trainee_id,
        "entry_date": ORDER_START.isoformat(),
        "planned_centre_hours": "100",
        "planned_company_hours": "20",
    }
    form.update(overrides)
    return form


# French display


def test_french_dates_are_shown_in_paris_time():
    winter = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 14, 7, 30, tzinfo=UTC)
    assert french_datetime(winter) == "lundi 30 novembre, 09:00"
    assert french_datetime(summer) == "mardi 14 juillet, 09:30"
    assert french_date(date(2027, 1, 1), year=True) == "vendredi 1 janvier 2027"
    assert french_date(datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) == "dimanche 29 mars"
    assert (french_hours(3), french_hours(2.5)) == ("3 h", "2 h 30")


# Access


def test_pages_send_a_signed_out_visitor_to_the_login_and_back(client, tenant_a):
    answer = client.get("/commandes")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/connexion?next=/commandes"
    login = client.get(answer.headers["Location"])
    assert "Connexion du personnel" in text(login)
    back = client.post(
        answer.headers["Location"], data={"email": tenant_a.admin.email, "password": PASSWORD}
    )
    assert back.headers["Location"] == "/commandes"


def test_login_never_sends_elsewhere_than_this_site(client, tenant_a):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = client.post(
            "/connexion?next=" + target, data={"email": tenant_a.admin.email, "password": PASSWORD}
        )
        assert answer.headers["Location"] == "/", target


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        (Role.TRAINER, "/commandes", 403),
        (Role.TRAINER, "/stagiaires", 403),
        (Role.FINANCE, "/commandes/nouvelle", 403),
        (Role.FINANCE, "/stagiaires/nouveau", 403),
        (Role.ORG_ADMIN, "/seances", 403),
        (Role.ORG_ADMIN, "/mes-seances", 403),
        (Role.FINANCE, "/commandes", 200),
        (Role.TRAINER, "/seances", 200),
    ],
)
def test_each_role_reaches_only_its_pages(client, tenant_a, role, url, status):
    user = {Role.TRAINER: tenant_a.trainer, Role.FINANCE: tenant_a.finance}.get(
        role, tenant_a.admin
    )
    login(client, user)
    assert client.get(url).status_code == status


def test_another_organisations_order_is_not_listed_and_answers_404(client, tenant_a, tenant_b):
    login(client, tenant_a.admin)
    page = text(client.get("/commandes"))
    assert order_number(tenant_a) in page
    assert order_number(tenant_b) not in page
    assert client.get(f"/commandes/{tenant_b.order_id}").status_code == 404
    assert client.get(f"/groupes/{tenant_b.group_id}").status_code == 404
    assert client.get(f"/stagiaires/{tenant_b.trainee.id}").status_code == 404
    assert client.get(f"/seances/{tenant_b.session_id}").status_code == 404
    assert client.post(f"/stagiaires/{tenant_b.trainee.id}/invitations").status_code == 404


def test_navigation_marks_the_current_page(client, tenant_a):
    login(client, tenant_a.admin)
    page = text(client.get("/commandes"))
    assert re.search(r'href="/commandes"\s+aria-current="page">Bons de commande', page)
    page = text(client.get(f"/commandes/{tenant_a.order_id}"))
    assert re.search(r'href="/commandes"\s+aria-current="true"', page)


# Orders


def test_admin_creates_an_order_through_the_form_and_sees_it_listed(client, tenant_a):
    login(client, tenant_a.admin)
    form = {k: str(v) for k, v in order_data(number="BC-FORM-1").items()}
    form["min_synchronous_share"] = "60"
    answer = client.post("/commandes/nouvelle", data=form, follow_redirects=True)
    assert "Le bon de commande BC-FORM-1 est enregistré." in text(answer)
    assert "60 %" in text(answer)
    assert "BC-FORM-1" in text(client.get("/commandes"))


def test_order_form_refusal_is_french_and_keeps_the_typed_values(client, tenant_a):
    login(client, tenant_a.admin)
    form = {k: str(v) for k, v in order_data(number="BC-DATES", title="").items()}
    form.update(min_synchronous_share="50", end_date=f"{THIS_YEAR}-01-01")
    answer = client.post("/commandes/nouvelle", data=form)
    assert answer.status_code == 400
    assert "Ce champ est obligatoire." in text(answer)
    assert 'value="BC-DATES"' in text(answer)
    form["title"] = "Anglais"
    answer = client.post("/commandes/nouvelle", data=form)
    assert "La date de fin doit suivre la date de début." in text(answer)


def test_admin_edits_an_order(client, tenant_a):
    login(client, tenant_a.admin)
    form = text(client.get(f"/commandes/{tenant_a.order_id}/modifier"))
    assert 'value="50"' in form  # the synchronous share, shown as a percentage
    data = {k: str(v) for k, v in order_data(number="BC-RENAMED", title="Espagnol").items()}
    data["min_synchronous_share"] = "40"
    answer = client.post(
        f"/commandes/{tenant_a.order_id}/modifier", data=data, follow_redirects=True
    )
    assert "BC-RENAMED — Espagnol" in text(answer)


def test_finance_and_region_read_orders_without_edit_buttons(client, tenant_a, region):
    for reader in (tenant_a.finance, region):
        login(client, reader)
        listing = text(client.get("/commandes"))
        assert order_number(tenant_a) in listing
        assert "Nouveau bon de commande" not in listing
        page = text(client.get(f"/commandes/{tenant_a.order_id}"))
        assert "Groupe A" in page
        assert "Modifier" not in page
        assert "Nouveau groupe" not in page
        group = text(client.get(f"/groupes/{tenant_a.group_id}"))
        assert "Inscrire un stagiaire" not in group
        assert "Planifier une séance" not in group
        client.post("/deconnexion")


# Groups


def test_admin_creates_a_group_choosing_among_the_organisations_trainers(
    client, tenant_a, tenant_b
):
    login(client, tenant_a.admin)
    form = text(client.get(f"/commandes/{tenant_a.order_id}/groupes/nouveau"))
    assert tenant_a.trainer.full_name in form
    assert tenant_b.trainer.full_name not in form
    answer = client.post(
        f"/commandes/{tenant_a.order_id}/groupes/nouveau",
        data={"name": "Groupe B", "component": "Anglais", "trainer_ids": [tenant_a.trainer.id]},
        follow_redirects=True,
    )
    page = text(answer)
    assert "Le groupe « Groupe B » est créé." in page
    assert tenant_a.trainer.full_name in page


def test_group_edit_refuses_another_organisations_trainer(client, tenant_a, tenant_b):
    login(client, tenant_a.admin)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/modifier",
        data={"name": "Groupe A", "component": "Anglais", "trainer_ids": [tenant_b.trainer.id]},
    )
    assert answer.status_code == 400
    assert "existe pas dans votre organisme" in text(answer)


# Enrolments (R1–R4)


def test_enrol_a_trainee_through_the_form(client, tenant_a):
    newcomer = make_trainee(tenant_a.org, "Bastien")
    login(client, tenant_a.admin)
    assert newcomer.last_name in text(client.get(f"/groupes/{tenant_a.group_id}"))
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/inscriptions",
        data=enrol_form(tenant_a, newcomer.id, planned_centre_hours="37,5"),
        follow_redirects=True,
    )
    assert f"{newcomer.full_name} est inscrit·e dans le groupe." in text(answer)
    assert "Stagiaires inscrits (2)" in text(answer)
    assert "37 h 30 en centre" in text(answer)  # a French decimal comma is understood


@pytest.mark.parametrize(
    ("rule", "overrides", "message"),
    [
        ("R1", {"planned_centre_hours": "150", "planned_company_hours": "60"}, "200 h"),
        ("R2", {"planned_centre_hours": "100", "planned_company_hours": "80"}, "70 h"),
        ("R4", {"entry_date": f"{THIS_YEAR + 1}-01-10"}, f"en {THIS_YEAR}"),
    ],
)
def test_enrolment_rule_refusal_shows_next_to_the_form(client, tenant_a, rule, overrides, message):
    """R1, R2 and R4 refuse an enrolment with a French message naming the rule."""
    newcomer = make_trainee(tenant_a.org, "Bastien")
    login(client, tenant_a.admin)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/inscriptions",
        data=enrol_form(tenant_a, newcomer.id, **overrides),
    )
    page = text(answer)
    assert answer.status_code == 422
    assert f"Règle {rule} du cahier des charges." in page
    assert message in page
    assert 'role="alert"' in page
    assert f'<option value="{newcomer.id}" selected>' in page  # the typed values stay
    assert "Stagiaires inscrits (1)" in page  # nothing was stored


def test_r3_over_twenty_trainees_needs_the_confirmation_checkbox(client, tenant_a):
    """R3: the 21st trainee is refused, then accepted once the admin ticks the box."""
    admin = principal_of(tenant_a.admin)
    for _ in range(19):
        trainee = make_trainee(tenant_a.org)
        services.enrol(
            admin,
            tenant_a.group_id,
            {"trainee_id": trainee.id, "entry_date": ORDER_START, "planned_centre_hours": 50.0},
        )
    db.session.commit()
    late = make_trainee(tenant_a.org, "Zoé")
    login(client, tenant_a.admin)
    url = f"/groupes/{tenant_a.group_id}/inscriptions"
    refused = client.post(url, data=enrol_form(tenant_a, late.id))
    assert refused.status_code == 422
    assert "Règle R3" in text(refused)
    assert 'name="confirm_over_capacity"' in text(refused)
    confirmed = enrol_form(tenant_a, late.id, confirm_over_capacity="on")
    answer = client.post(url, data=confirmed, follow_redirects=True)
    assert "Stagiaires inscrits (21)" in text(answer)
    assert "Au-delà de 20 stagiaires (R3, confirmé)" in text(answer)


# Sessions (R6, R10, public holidays)


def test_admin_plans_a_session_and_sees_it_on_the_group_page(client, tenant_a):
    login(client, tenant_a.admin)
    day = ORDER_START + timedelta(days=8)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle",
        data=session_form(day=day.isoformat()),
        follow_redirects=True,
    )
    page = text(answer)
    assert "Séance « Jeux de rôle » planifiée." in page
    assert f"{french_date(day, year=True)}, 09:00" in page
    assert "12:00" in page


def test_admin_plans_a_session_for_one_trainee_and_the_page_names_only_her(client, tenant_a):
    """Issue 8, item 4, through the pages: a sub-group or one trainee, ticked on the form."""
    login(client, tenant_a.admin)
    day = ORDER_START + timedelta(days=8)
    form = session_form(day=day.isoformat()) | {
        "who": "some",
        "participant_ids": [tenant_a.trainee.id],
    }
    answer = client.post(f"/groupes/{tenant_a.group_id}/seances/nouvelle", data=form)
    assert answer.status_code == 302, text(answer)
    group = text(client.get(f"/groupes/{tenant_a.group_id}"))
    session_url = re.findall(r'href="(/seances/[0-9a-f]{24})"', group)[-1]
    page = text(client.get(session_url))
    assert "<h2>Participants (1)</h2>" in page
    assert tenant_a.trainee.last_name in page
    edit = text(client.get(f"{session_url}/modifier"))
    assert f'value="{tenant_a.trainee.id}" checked' in edit
    assert 'name="who" value="some" checked' in edit


def test_the_planning_form_says_why_an_overlap_is_refused_and_keeps_the_ticks(client, tenant_a):
    login(client, tenant_a.admin)
    day = ORDER_START + timedelta(days=8)
    first = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle", data=session_form(day=day.isoformat())
    )
    assert first.status_code == 302
    form = session_form(day=day.isoformat(), start_time="10:00", end_time="11:00")
    form |= {"who": "some", "participant_ids": [tenant_a.trainee.id]}
    answer = client.post(f"/groupes/{tenant_a.group_id}/seances/nouvelle", data=form)
    assert answer.status_code == 409
    assert "un stagiaire ne suit pas deux séances à la fois" in text(answer)
    assert f'value="{tenant_a.trainee.id}" checked' in text(answer)
    none_ticked = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle", data=form | {"participant_ids": []}
    )
    assert none_ticked.status_code == 400
    assert "Cochez au moins un stagiaire." in text(none_ticked)


def test_session_form_refuses_a_bad_time_and_keeps_what_was_typed(client, tenant_a):
    login(client, tenant_a.admin)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle",
        data=session_form(start_time="9 heures", title="Gardé"),
    )
    assert answer.status_code == 400
    assert "Indiquez une heure au format hh:mm" in text(answer)
    assert 'value="Gardé"' in text(answer)
    assert 'aria-invalid="true" aria-describedby="start_time-error"' in text(answer)


def test_r6_autoformation_over_the_cap_is_refused_clearly(app, client, tenant_a):
    """R6: a hybrid order's autoformation stays within 20 % of its centre hours."""
    h = bearer(app, tenant_a.admin)
    order = client.post(
        "/api/v1/orders", json=order_data(modality="hybride", centre_hours=10.0), headers=h
    ).get_json()
    group = client.post(
        f"/api/v1/orders/{order['id']}/groups", json={"name": "G", "component": "C"}, headers=h
    ).get_json()
    login(client, tenant_a.admin)
    answer = client.post(
        f"/groupes/{group['id']}/seances/nouvelle", data=session_form(kind="autoformation")
    )
    assert answer.status_code == 422
    assert "L'autoformation est limitée à 20 %" in text(answer)
    assert "Règle R6 du cahier des charges." in text(answer)


def test_r10_regroupement_without_reason_is_refused_clearly(client, tenant_a):
    """R10: an e-formation regroupement needs a reason (welcome day, exam or authorisation)."""
    login(client, tenant_a.admin)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle", data=session_form(kind="regroupement")
    )
    assert answer.status_code == 422
    assert "un regroupement doit avoir un motif" in text(answer)
    assert "Règle R10 du cahier des charges." in text(answer)


def test_session_on_a_public_holiday_shows_a_warning_badge(client, tenant_a):
    login(client, tenant_a.admin)
    bastille = date(THIS_YEAR, 7, 14)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle",
        data=session_form(day=bastille.isoformat(), title="Fête"),
        follow_redirects=True,
    )
    assert "Jour férié" in text(answer)
    assert text(client.get(f"/groupes/{tenant_a.group_id}")).count("Jour férié") == 1


def test_admin_edits_a_planned_session(client, tenant_a):
    login(client, tenant_a.admin)
    url = f"/seances/{tenant_a.session_id}/modifier"
    assert 'value="09:00"' in text(client.get(url))  # Paris time, not UTC
    day = ORDER_START + timedelta(days=3)
    data = session_form(day=day.isoformat(), title="Tutorat renommé", end_time="11:30")
    answer = client.post(url, data=data, follow_redirects=True)
    assert "Séance « Tutorat renommé » modifiée." in text(answer)
    assert "11:30" in text(answer)


# The trainer's and the trainee's weeks


def plan_this_week(app, client, tenant, label):
    """An order around today with a session today and one next week, in `tenant`'s group."""
    today = utcnow().astimezone(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    h = bearer(app, tenant.admin)
    dates = {
        "start_date": monday.isoformat(),
        "end_date": (monday + timedelta(days=60)).isoformat(),
    }
    order = client.post("/api/v1/orders", json=order_data(**dates), headers=h).get_json()
    group = client.post(
        f"/api/v1/orders/{order['id']}/groups",
        json={"name": f"Groupe {label}", "component": "C", "trainer_ids": [tenant.trainer.id]},
        headers=h,
    ).get_json()
    client.post(
        f"/api/v1/groups/{group['id']}/enrolments",
        json={
            "trainee_id": tenant.trainee.id,
            "entry_date": monday.isoformat(),
            "planned_centre_hours": 50,
        },
        headers=h,
    )
    for title, day in (
        (f"Aujourd'hui {label}", today),
        (f"Prochaine {label}", today + timedelta(7)),
    ):
        answer = client.post(
            f"/api/v1/groups/{group['id']}/sessions",
            json={
                "kind": "tutorat",
                "title": title,
                "starts_at": paris(day, 10),
                "ends_at": paris(day, 11),
            },
            headers=h,
        )
        assert answer.status_code == 201, answer.get_json()
    return group["id"]


def test_trainer_sees_todays_sessions_first(app, client, tenant_a, tenant_b):
    plan_this_week(app, client, tenant_a, "Alpha")
    plan_this_week(app, client, tenant_b, "Bêta")
    login(client, tenant_a.trainer)
    page = text(client.get("/seances"))
    assert page.index("<h2>Aujourd'hui</h2>") < page.index("Aujourd&#39;hui Alpha")
    assert page.index("Aujourd&#39;hui Alpha") < page.index("Plus tard cette semaine")
    assert "10:00" in page
    assert "Groupe : Groupe Alpha" in page
    assert "Bêta" not in page
    assert "Prochaine Alpha" not in page  # next week is not this week


def test_trainer_plans_for_their_own_group_only(client, tenant_a, tenant_b):
    login(client, tenant_a.trainer)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/seances/nouvelle",
        data=session_form(title="Par le formateur"),
        follow_redirects=True,
    )
    assert "Séance « Par le formateur » planifiée." in text(answer)
    assert client.get(f"/groupes/{tenant_b.group_id}/seances/nouvelle").status_code == 404


def test_session_page_lists_the_groups_trainees(client, tenant_a):
    login(client, tenant_a.trainer)
    page = text(client.get(f"/seances/{tenant_a.session_id}"))
    assert "Participants : tout le groupe (1)" in page
    assert tenant_a.trainee.last_name in page
    assert "Modifier la séance" in page


def test_site_staff_sees_the_sessions_at_its_site(client, tenant_a):
    from sites.models import Site

    site = Site(name="Site de Figeac", department="46", city="Figeac", seats=8)
    db.session.add(site)
    db.session.commit()
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    login(client, staff)
    assert client.get(f"/seances/{tenant_a.session_id}").status_code == 404
    assert "Séances du site" in text(client.get("/seances"))


def test_trainee_sees_only_their_own_sessions_in_plain_words(app, client, tenant_a, tenant_b):
    plan_this_week(app, client, tenant_a, "Alpha")
    plan_this_week(app, client, tenant_b, "Bêta")
    login_trainee(client, tenant_a)
    page = text(client.get("/mes-seances"))
    assert "Aujourd&#39;hui Alpha" in page
    assert "Prochaine Alpha" in page
    assert "Bêta" not in page
    assert "Cours en direct avec votre formateur" in page
    assert client.get(f"/mes-seances/{tenant_b.session_id}").status_code == 404


# Trainees and invitations


def test_admin_creates_and_edits_a_trainee(client, tenant_a):
    login(client, tenant_a.admin)
    answer = client.post(
        "/stagiaires/nouveau",
        data={"first_name": "Nora", "last_name": "Fabre", "email": "Nora@Exemple.fr"},
        follow_redirects=True,
    )
    assert "Nora Fabre est enregistré·e." in text(answer)
    assert "nora@exemple.fr" in text(answer)
    duplicate = client.post(
        "/stagiaires/nouveau",
        data={"first_name": "N", "last_name": "F", "email": "nora@exemple.fr"},
    )
    assert duplicate.status_code == 409
    assert "déjà cette adresse" in text(duplicate)
    assert "Fabre" in text(client.get("/stagiaires"))


def test_invitation_is_shown_once_and_a_bound_phone_can_be_revoked(client, tenant_a):
    login(client, tenant_a.admin)
    trainee_url = f"/stagiaires/{tenant_a.trainee.id}"
    assert "Téléphone relié" in text(client.get(trainee_url))
    issued = client.post(f"{trainee_url}/invitations")
    code = re.search(r"[A-Z2-9]{5}-[A-Z2-9]{5}", text(issued)).group(0)
    assert "un seul téléphone" in text(issued)
    assert f"http://localhost/invitation#{code}" in text(issued)
    assert issued.headers["Cache-Control"] == "no-store"
    assert code not in text(client.get(trainee_url))  # never shown again
    revoked = client.post(f"/invitations/{tenant_a.invitation_id}/retrait", follow_redirects=True)
    assert "Ce téléphone est retiré" in text(revoked)
    client.post("/deconnexion")
    login_trainee(client, tenant_a)
    lost = client.get("/mes-seances")  # the phone lost its access: told why, asked for a code
    assert lost.status_code == 302
    assert lost.headers["Location"] == "/invitation"
    told = text(client.get(lost.headers["Location"]))
    assert "Ce téléphone n&#39;est plus relié à votre compte" in told
    assert "demandez un nouveau code à votre organisme" in told


def test_finance_sees_no_invitation_buttons(client, tenant_a):
    login(client, tenant_a.finance)
    page = text(client.get(f"/stagiaires/{tenant_a.trainee.id}"))
    assert tenant_a.trainee.full_name in page
    assert "Créer une invitation" not in page
    assert client.post(f"/stagiaires/{tenant_a.trainee.id}/invitations").status_code == 403


def test_group_model_is_untouched_by_a_refused_edit(client, tenant_a):
    login(client, tenant_a.admin)
    answer = client.post(
        f"/groupes/{tenant_a.group_id}/modifier",
        data={"name": "", "component": "Anglais"},
    )
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(Group, tenant_a.group_id).name == "Groupe A"
