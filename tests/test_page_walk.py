"""The page walk: every page each role reaches from its menus, for every state of a session.

For each state a session goes through (planned, open, signed by the trainer, signed by
trainees on arrival and departure, closed with absences and a correction), each role signs
in as a browser does (the staff login form, the trainee's invitation on a phone) and follows
every same-site link of the pages it reaches, GET only. No page may answer 5xx, and a link
shown to a role must lead to a page that role may see (no 403 or 404 behind a link). A page
added later is walked as soon as a menu or a page links to it.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.extensions import db
from core.models import Role, Trainee, User
from sites.models import Site
from tests.attendance.company_support import COMPANY_STATE_TEXT, COMPANY_STATES, company_state
from tests.attendance.support import DAY, Clock, Learner, at, enrol, plan, qr_token
from tests.conftest import Tenant, bearer, make_tenant, make_user
from tests.page_support import install_clock, phone_browser, staff_browser

MAX_PAGES = 150  # per role and state: a walk that reaches it is cut short, and says so
STATES = ("planned", "open", "trainer_signed", "signed", "closed")
ROLES = ("trainer", "org_admin", "finance", "region", "site_staff", "trainee")
# Where each role starts besides its home: the pages a QR code or a site PC opens.
EXTRA_STARTS = {"trainee": ["/emarger"], "site_staff": ["/code"]}
# The walk never logs out (a link would end the walk's session), nor downloads static files.
SKIPPED = re.compile(r"^/(deconnexion|static/)")


class Links(HTMLParser):
    """The href of each <a> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def same_site_paths(html: str) -> list[str]:
    """The links of a page that stay on this site, as paths (with their query), no fragment."""
    parser = Links()
    parser.feed(html)
    paths = []
    for href in parser.hrefs:
        parts = urlsplit(urldefrag(href)[0])
        if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost"):
            continue
        if parts.path.startswith("/") and not SKIPPED.match(parts.path):
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


@dataclass
class Walk:
    """What one role met on its way: each page's status, where it was linked from."""

    role: str
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    linked_from: dict[str, str] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)

    def failures(self) -> list[str]:
        found = []
        for path, status in self.statuses.items():
            origin = self.linked_from.get(path, "le départ de la visite")
            if status >= 500:
                why = self.errors.get(path, "")
                found.append(f"{self.role}: GET {path} → {status} {why} (atteinte depuis {origin})")
            elif status in (403, 404, 405) and path in self.linked_from:
                found.append(f"{self.role}: GET {path} → {status}, lien montré sur {origin}")
        return found


def walk(client: FlaskClient, role: str, starts: list[str]) -> Walk:
    """Follow the same-site links breadth first from `starts`; redirects are followed too."""
    seen = Walk(role)
    queue = deque(starts)
    while queue:
        path = queue.popleft()
        if path in seen.statuses:
            continue
        assert len(seen.statuses) < MAX_PAGES, f"{role}: plus de {MAX_PAGES} pages, walk cut"
        try:
            answer = client.get(path)
        except Exception as exc:  # noqa: BLE001 (TESTING propagates what would be a 500)
            seen.statuses[path], seen.errors[path] = 500, f"{type(exc).__name__}: {exc}"
            continue
        seen.statuses[path] = answer.status_code
        found = []
        if answer.status_code in (301, 302, 303, 307, 308):
            found = [urlsplit(answer.headers["Location"]).path]
        elif answer.mimetype == "text/html":
            seen.pages[path] = answer.get_data(as_text=True)
            found = same_site_paths(seen.pages[path])
        for target in found:
            seen.linked_from.setdefault(target, path)
            queue.append(target)
    return seen


@dataclass
class World:
    """One organisation with a site, every kind of user, and today's session in one state."""

    tenant: Tenant
    clock: Clock
    session_id: str
    later_id: str
    users: dict[str, User]
    amina: Learner
    lea: Learner
    noe: Learner
    trainee_code: str = ""


def build_world(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> World:
    """Tenant, site and users; this morning's session at the site, a later one this afternoon."""
    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    tenant = make_tenant(app, client, "Marche")
    site = Site(name="Site de Figeac", department="46", city="Figeac", seats=8)
    db.session.add(site)
    db.session.commit()
    users = {
        "trainer": tenant.trainer,
        "org_admin": tenant.admin,
        "finance": tenant.finance,
        "region": make_user(Role.REGION),
        "site_staff": make_user(Role.SITE_STAFF, site_id=site.id),
    }
    amina = Learner(tenant.trainee, bearer(app, tenant.trainee, dev=tenant.invitation_id))
    lea, noe = enrol(app, client, tenant, "Léa"), enrol(app, client, tenant, "Noé")
    morning = plan(app, client, tenant, start=(9, 0), end=(11, 0), site_id=site.id)
    later = plan(app, client, tenant, start=(14, 0), end=(16, 0), site_id=site.id)
    return World(tenant, clock, morning, later, users, amina, lea, noe)


def bring_to(world: World, client: FlaskClient, app: Flask, state: str) -> None:
    """Take the morning session through the states up to `state`, as the API would."""
    sid, clock = world.session_id, world.clock
    trainer_h = bearer(app, world.tenant.trainer)

    def ok(answer, status: int = 201) -> None:  # noqa: ANN001
        assert answer.status_code == status, answer.get_json()

    if state == "planned":
        return
    clock.set(9, 5)
    ok(client.post(f"/api/v1/sessions/{sid}/open", headers=trainer_h), 200)
    if state == "open":
        return
    ok(client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=trainer_h))
    if state == "trainer_signed":
        return
    token = {"qr": qr_token(client, trainer_h, sid)}
    ok(client.post("/api/v1/sign-ins", json=token, headers=world.amina.headers))
    clock.set(10, 30)
    token = {"qr": qr_token(client, trainer_h, sid)}
    ok(client.post("/api/v1/sign-outs", json=token, headers=world.amina.headers), 200)
    if state == "signed":
        return
    clock.set(10, 45)
    ok(client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h), 200)
    absence = {"trainee_id": world.lea.id, "reason": "Rendez-vous médical", "justified": True}
    ok(client.post(f"/api/v1/sessions/{sid}/absences", json=absence, headers=trainer_h))
    correction = {"trainee_id": world.noe.id, "action": "mark_present", "reason": "Oubli du QR"}
    ok(client.post(f"/api/v1/sessions/{sid}/corrections", json=correction, headers=trainer_h))


def signed_in(app: Flask, world: World, role: str) -> FlaskClient:
    """A browser of `role`: staff through the login form, the trainee through a fresh
    invitation redeemed on an Android phone (the page the personal link opens)."""
    if role == "trainee":
        return phone_browser(app, world.tenant.admin, world.tenant.trainee)
    return staff_browser(app, world.users[role])


@pytest.mark.parametrize("state", STATES)
def test_every_page_of_every_role_renders_in_every_state(app, client, monkeypatch, state):
    world = build_world(app, client, monkeypatch)
    bring_to(world, client, app, state)
    failures, walks = [], {}
    for role in ROLES:
        browser = signed_in(app, world, role)
        walks[role] = walk(browser, role, ["/", *EXTRA_STARTS.get(role, [])])
        failures += walks[role].failures()
    assert not failures, f"État « {state} » :\n" + "\n".join(failures)
    # The walk did reach the session's pages, not only the menus.
    session_page = f"/seances/{world.session_id}"
    for role in ("trainer", "org_admin", "finance", "region", "site_staff"):
        assert walks[role].statuses.get(session_page) == 200, (role, walks[role].statuses)
    live_page = f"{session_page}/emargement"
    for role in ("trainer", "site_staff"):
        assert walks[role].statuses.get(live_page) == 200, (role, walks[role].statuses)
    assert walks["trainee"].statuses.get(f"/mes-seances/{world.session_id}") == 200
    # The virtual class (virtualclass/): its way in is shown while the session is open.
    class_page = f"/classe/{world.session_id}"
    for role in ("trainer", "trainee"):
        reached = walks[role].statuses.get(class_page)
        assert reached == (200 if state in ("open", "trainer_signed", "signed") else None), role


# What people see on the key pages, state by state.

STATE_LABEL = {
    "planned": "Prévue",
    "open": "Ouverte",
    "trainer_signed": "Ouverte",
    "signed": "Ouverte",
    "closed": "Close",
}


def card_of(page: str, title: str) -> str:
    """The text of the card (<li class="card">) whose title is `title`."""
    for card in re.findall(r'<li class="card">(.*?)</li>', page, flags=re.S):
        if f">{title}</a>" in card:
            return re.sub(r"<[^>]+>", " ", card)
    raise AssertionError(f"no card « {title} » in the page")


@pytest.mark.parametrize("state", STATES)
def test_the_trainers_home_lists_todays_session_with_its_state(app, client, monkeypatch, state):
    world = build_world(app, client, monkeypatch)
    bring_to(world, client, app, state)
    trainer = signed_in(app, world, "trainer")
    home = trainer.get("/", follow_redirects=True).get_data(as_text=True)
    today = home[home.index("<h2>Aujourd'hui</h2>") : home.index("Plus tard cette semaine")]
    card = card_of(today, "Séance tutorat")
    assert STATE_LABEL[state] in card
    assert "09:00" in card
    assert "11:00" in card


def test_the_live_page_shows_who_signed_and_who_is_absent_once_closed(app, client, monkeypatch):
    world = build_world(app, client, monkeypatch)
    bring_to(world, client, app, "closed")
    trainer = signed_in(app, world, "trainer")
    page = trainer.get(f"/seances/{world.session_id}/emargement").get_data(as_text=True)
    rows = {
        learner.id: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
        for learner in (world.amina, world.lea, world.noe)
        for row in re.findall(rf'<li id="t-{learner.id}".*?</li>', page, flags=re.S)
    }
    assert "✔ 09:05 → 10:30" in rows[world.amina.id]
    assert "absent·e — Rendez-vous médical (justifiée)" in rows[world.lea.id]
    assert "(correction)" in rows[world.noe.id]
    assert "close" in page
    assert 'id="qr"' not in page  # no QR code once closed


def test_the_trainee_sees_the_session_and_their_signature(app, client, monkeypatch):
    world = build_world(app, client, monkeypatch)
    bring_to(world, client, app, "signed")
    phone = signed_in(app, world, "trainee")
    history = phone.get("/mes-emargements").get_data(as_text=True)
    assert "Arrivée émargée à 09:05" in history
    assert "Départ émargé à 10:30" in history
    week = phone.get("/mes-seances").get_data(as_text=True)
    assert "Séance tutorat" in week
    assert db.session.get(Trainee, world.amina.id).full_name in week  # header: who is signed in


# The certificates' pages (issue 9), in each state a certificate goes through: issued,
# outdated by a correction (R7), superseded, and after the retention purge (R17).

CERTIFICATE_STATES = ("issued", "outdated", "superseded", "purged")
VERIFY_NOTICE = {
    "issued": "Certificat authentique.",
    "outdated": "une attestation à jour doit être demandée à l'organisme",
    "superseded": "Certificat authentique mais remplacé",
    "purged": "données effacées",
}


@pytest.mark.parametrize("state", CERTIFICATE_STATES)
def test_every_certificate_page_renders_in_every_state_of_a_certificate(
    app, client, monkeypatch, state
):
    from attendance import retention
    from training.models import Order

    world = build_world(app, client, monkeypatch)
    bring_to(world, client, app, "closed")
    world.clock.set(17, 0)
    admin_h = bearer(app, world.tenant.admin)
    url = f"/api/v1/enrolments/{world.tenant.enrolment_id}/certificate.pdf"
    first = client.get(url, headers=admin_h)
    assert first.status_code == 200, first.get_json()
    short_id = first.headers["X-Certificate-Id"]
    if state in ("outdated", "superseded"):
        correction = {"trainee_id": world.amina.id, "action": "mark_absent", "reason": "Erreur"}
        answer = client.post(
            f"/api/v1/sessions/{world.session_id}/corrections", json=correction, headers=admin_h
        )
        assert answer.status_code == 201, answer.get_json()
    if state == "superseded":
        world.clock.set(17, 30)
        assert client.get(url, headers=admin_h).status_code == 200
    if state == "purged":
        order = db.session.get(Order, world.tenant.order_id)
        after = at(retention.retention_ends(order), 9, 0)
        retention.purge_order(order.id, after)
        db.session.commit()
    starts = {
        "org_admin": ["/", "/attestations", f"/verifier/{short_id}"],
        "trainee": ["/", "/mes-attestations", f"/verifier/{short_id}"],
    }
    failures = []
    for role, paths in starts.items():
        seen = walk(signed_in(app, world, role), role, paths)
        failures += seen.failures()
        assert seen.statuses[paths[1]] == 200, (role, seen.statuses)
    public = walk(app.test_client(), "public", ["/verifier", f"/verifier/{short_id}"])
    failures += public.failures()
    assert not failures, f"Certificat « {state} » :\n" + "\n".join(failures)
    page = re.sub(r"\s+", " ", public.pages[f"/verifier/{short_id}"]).replace("&#39;", "'")
    assert VERIFY_NOTICE[state] in page


# Company periods (R2): every role's pages in every state of a period's hours.


def company_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("state", COMPANY_STATES)
def test_every_role_reaches_the_company_pages_in_every_state(app, client, monkeypatch, state):
    world = build_world(app, client, monkeypatch)
    found = company_state(app, client, world.tenant, monkeypatch, state, clock=world.clock)
    period_page = f"/entreprise/{found.period_id}"
    path_page = f"/parcours/{world.tenant.enrolment_id}/entreprise"
    failures = []
    for role in ("org_admin", "finance", "region", "trainer"):
        browser = staff_browser(app, world.users[role])
        seen = walk(browser, role, ["/"])
        failures += seen.failures()
        assert seen.statuses.get(path_page) == 200, (role, state)
        assert seen.statuses.get(period_page) == 200, (role, state)
        text = company_text(seen.pages[period_page])
        assert COMPANY_STATE_TEXT[state] in text, (role, state)
        assert "Menuiserie Durand" in text
        forms = "Déclarer des heures réalisées" in text, "Créer un code pour le tuteur" in text
        assert forms == ((True, True) if role == "org_admin" else (False, False)), role
    phone = phone_browser(app, world.tenant.admin, world.tenant.trainee)
    seen = walk(phone, "trainee", ["/"])
    failures += seen.failures()
    assert not failures, "\n".join(failures)
    mine = company_text(seen.pages["/mes-heures-entreprise"])
    assert "Menuiserie Durand" in mine
    signing = "Je signe ces heures" in mine
    assert signing == (state in ("pending", "tutor_signed")), state
    if state == "planned":
        assert "Aucune heure déclarée pour l'instant." in mine
    else:
        assert "14 h du lundi 2 mars" in mine
        assert COMPANY_STATE_TEXT[state] in mine
    tutor = app.test_client().get("/tuteur")
    assert tutor.status_code == 200
    assert "Votre code" in tutor.get_data(as_text=True)


# Access sites (issue 10): every page each role reaches, for each state of a booking and of
# its site. The bookings lie ahead (they are for the future), so this world runs on the clock.

SITE_STATES = ("confirmed", "waitlisted", "cancelled", "site_closed", "closure_withdrawn")


def build_site_world(app: Flask, client: FlaskClient, state: str):  # noqa: ANN201
    """A one-seat site, an organisation with two trainees and a session; bookings in `state`."""
    from tests.sites.support import DAY as SITE_DAY
    from tests.sites.support import book, create_site, make_org_with_trainees, plan_session

    region = make_user(Role.REGION)
    site = create_site(app, client, region, seats=1)
    org = make_org_with_trainees(app, client, 2, "Sites")
    session = plan_session(app, client, org)
    first = book(app, client, org, site["id"], org.trainees[0], session_id=session["id"])
    assert first.status_code == 201
    if state == "waitlisted":
        waiting = book(
            app, client, org, site["id"], org.trainees[1], session_id=session["id"], waitlist=True
        )
        assert waiting.status_code == 202
    if state == "cancelled":
        assert (
            client.delete(f"/api/v1/bookings/{first.get_json()['id']}", headers=org.h).status_code
            == 204
        )
    if state in ("site_closed", "closure_withdrawn"):
        closed = client.post(
            f"/api/v1/sites/{site['id']}/closures",
            json={"day": str(SITE_DAY), "reason": "Travaux"},
            headers=bearer(app, region),
        )
        assert closed.status_code == 201
    if state == "closure_withdrawn":  # announced by mistake: bookable again, the booking gone
        withdrawn = client.delete(
            f"/api/v1/sites/{site['id']}/closures/{SITE_DAY}", headers=bearer(app, region)
        )
        assert withdrawn.status_code == 204
    users = {
        "org_admin": org.admin,
        "trainer": org.trainer,
        "finance": make_user(Role.FINANCE, org.org),
        "region": region,
        "site_staff": make_user(Role.SITE_STAFF, site_id=site["id"]),
    }
    day = SITE_DAY.isoformat()
    site_pages = [
        f"/sites/{site['id']}/jour?date={day}",
        f"/sites/{site['id']}/semaine?date={day}",
        f"/sites/{site['id']}/rapport?du={day}&au={day}",
    ]
    starts = {
        "org_admin": [
            f"/sites/disponibilites?department=46&date={day}&session_id={session['id']}",
            "/reservations?status="
            + (
                "waitlisted"
                if state == "waitlisted"
                else "cancelled"
                if state != "confirmed"
                else "confirmed"
            ),
            f"/stagiaires/{org.trainees[0].id}/repositionner",
            "/agenda",
        ],
        "region": [
            *site_pages,
            "/sites/nouveau",
            "/sites/importer",
            "/sites/boite-d-envoi",
            "/logiciels",
        ],
        "site_staff": [*site_pages, "/agenda"],
        "finance": ["/reservations"],
        "trainer": [],
        "trainee": ["/agenda"],
    }
    return site, org, users, starts


@pytest.mark.parametrize("state", SITE_STATES)
def test_every_site_page_renders_for_every_role_in_every_booking_state(app, client, state):
    from tests.page_support import phone_browser

    site, org, users, starts = build_site_world(app, client, state)
    failures, walks = [], {}
    for role, extra in starts.items():
        if role == "trainee":
            browser = phone_browser(app, org.admin, org.trainees[0])
        else:
            browser = staff_browser(app, users[role])
        walks[role] = walk(browser, role, ["/", *extra])
        failures += walks[role].failures()
    assert not failures, f"État « {state} » :\n" + "\n".join(failures)
    for role in ("org_admin", "region", "site_staff"):
        assert walks[role].statuses.get(f"/sites/{site['id']}") == 200, (role, walks[role].statuses)
    roster = next(page for path, page in walks["site_staff"].pages.items() if "/jour" in path)
    roster = roster.replace("&#39;", "'")
    name = f"{org.trainees[0].last_name} {org.trainees[0].first_name}"
    if state == "site_closed":
        assert "Site fermé ce jour : Travaux" in roster
    elif state in ("cancelled", "closure_withdrawn"):
        assert "Aucune réservation ce jour-là." in roster
        assert "Site fermé ce jour" not in roster
    else:
        assert name in roster
    if state == "waitlisted":
        assert "En liste d'attente" in roster
    bookings = next(
        page
        for path, page in walks["org_admin"].pages.items()
        if path.startswith("/reservations?status=")
    )
    label = {
        "confirmed": "Confirmée",
        "waitlisted": "En liste d'attente",
        "cancelled": "Annulée",
        "site_closed": "Fermeture du site : Travaux",
        "closure_withdrawn": "Fermeture du site : Travaux",
    }[state]
    assert label in bookings.replace("&#39;", "'")
