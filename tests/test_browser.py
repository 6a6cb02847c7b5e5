"""In a real browser (headless Chromium): staff sign in, plan a session, and pages fit 320 px."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.serving import make_server

from core.extensions import db
from tests.conftest import ORDER_START, PASSWORD, bearer
from training.models import Order

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 320, "height": 640}

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The app (on the test database) served over HTTP from a thread, on a free port."""
    real_socketio_transport()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def real_socketio_transport() -> None:
    """Undo what an earlier `socketio.test_client` did to the shared Socket.IO server: it
    replaces the server's packet sending with an in-memory queue, for the whole process."""
    from core.extensions import socketio

    for name in ("_send_packet", "_send_eio_packet"):
        socketio.server.__dict__.pop(name, None)
    socketio.server.async_handlers = True
    socketio.server.eio.async_handlers = True


@pytest.fixture
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI for the browser tests.")
        pytest.skip(f"{CHROMIUM} is not installed on this machine.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_login_page_fits_a_320px_phone(browser, live_url):
    page = browser.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{live_url}/connexion")
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion du personnel"
    assert scroll_width(page) <= 320
    assert page.evaluate("document.activeElement.id") == "email"  # ready to type


def test_admin_signs_in_with_the_keyboard_and_plans_a_session(
    browser, live_url, tenant_a, tmp_path
):
    number = db.session.get(Order, tenant_a.order_id).number
    page = browser.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{live_url}/connexion")
    page.get_by_label("Adresse électronique").fill(tenant_a.admin.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Bons de commande").wait_for()

    page.get_by_role("link", name=number).click()
    page.get_by_role("link", name="Groupe A").click()
    page.keyboard.press("Tab")  # the first stop skips the header
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.get_by_role("link", name="Planifier une séance").click()
    page.get_by_label("Type de séance").select_option("tutorat")
    page.get_by_label("Intitulé").fill("Entretien d'embauche")
    page.get_by_label("Date").fill((ORDER_START + timedelta(days=10)).isoformat())
    page.get_by_label("Début").fill("14:00")
    page.get_by_label("Fin").fill("16:30")
    page.get_by_role("button", name="Enregistrer").click()

    page.get_by_text("Séance « Entretien d'embauche » planifiée.").wait_for()
    card = page.locator(".card", has_text="Entretien d'embauche")
    assert "14:00" in card.inner_text()
    assert "16:30" in card.inner_text()
    assert scroll_width(page) <= 320
    page.screenshot(path=str(tmp_path / "group-320.png"), full_page=True)


def test_phone_signs_in_from_the_qr_and_the_trainer_sees_it_live(browser, live_url, app, client):
    """Issue 3: a bound phone opens the QR's URL, confirms in one tap, sees the success screen;
    the trainer's screen, left open, shows the signature without a reload (Socket.IO)."""
    world = live_world(app, client)
    trainer = open_live_page(browser, live_url, world)
    trainer.get_by_role("button", name="Signer en tant que formateur").click()
    trainer.locator("#qr svg").wait_for()
    assert trainer.locator("#compte").inner_text() == "0 / 1"

    phone = browser.new_page(viewport=PHONE, locale="fr-FR", is_mobile=True)
    phone.goto(f"{live_url}/invitation#{world['invitation_code']}")  # the personal link
    phone.get_by_role("button", name="Activer").click()
    phone.get_by_role("heading", name="Mes séances").wait_for()

    payload = client.get(
        f"/api/v1/sessions/{world['session_id']}/qr", headers=bearer(app, world["trainer"])
    ).get_json()["payload"]
    assert payload.startswith("http://localhost/emarger#")
    phone.goto(payload.replace("http://localhost", live_url))
    phone.get_by_role("button", name="Je suis présent·e").click()
    success = phone.get_by_role("status")
    success.wait_for()
    assert "Présence enregistrée" in success.inner_text()
    assert scroll_width(phone) <= 320

    row = trainer.locator(f"#t-{world['trainee_id']}")
    trainer.wait_for_function(
        "document.getElementById('compte').textContent === '1 / 1'", timeout=10_000
    )
    assert "✔" in row.inner_text()
    assert "a émargé" in trainer.locator("#annonce").inner_text()
    assert "Amina" in trainer.locator("#dernieres").inner_text()  # beside the QR code


def test_the_trainers_list_catches_up_after_its_connection_comes_back(
    browser, live_url, app, client
):
    """Issue 3: a signature given while the trainer's page was offline (a network blip, a
    server restart) was not pushed to it; when its Socket.IO connection comes back, the page
    reads the list again, without a reload (which would leave full screen)."""
    world = live_world(app, client)
    trainer_h = bearer(app, world["trainer"])
    trainer = open_live_page(browser, live_url, world)
    trainer.wait_for_function("window.emargementLive && window.emargementLive.joined")
    trainer.evaluate("window.emargementLive.disconnect()")

    codes = client.post(
        f"/api/v1/sessions/{world['session_id']}/sign-in-codes",
        json={"trainee_ids": [world["trainee_id"]]},
        headers=trainer_h,
    )
    signed = client.post("/api/v1/sign-ins", json={"code": codes.get_json()[0]["code"]})
    assert signed.status_code == 201, signed.get_json()
    trainer.wait_for_timeout(300)
    assert trainer.locator("#compte").inner_text() == "0 / 1"  # missed while offline

    trainer.evaluate("window.emargementLive.connect()")
    trainer.wait_for_function(
        "document.getElementById('compte').textContent.trim() === '1 / 1'", timeout=10_000
    )
    assert "✔" in trainer.locator(f"#t-{world['trainee_id']}").inner_text()


def open_live_page(browser, live_url: str, world: dict[str, Any]):  # noqa: ANN001, ANN201
    """The trainer signs in on a laptop, goes to the session's live page and opens signing."""
    trainer = browser.new_page(locale="fr-FR")
    trainer.goto(f"{live_url}/connexion")
    trainer.get_by_label("Adresse électronique").fill(world["trainer"].email)
    trainer.get_by_label("Mot de passe").fill(PASSWORD)
    trainer.get_by_role("button", name="Se connecter").click()
    trainer.goto(f"{live_url}/seances/{world['session_id']}/emargement")
    trainer.get_by_role("button", name="Ouvrir l'émargement").click()
    return trainer


def paris_day_end(moment):  # noqa: ANN001, ANN201
    """23:59 of the Paris day of `moment`: a session stays inside one Paris day."""
    from datetime import datetime, time

    from attendance.rules import PARIS

    local = moment.astimezone(PARIS)
    return datetime.combine(local.date(), time(23, 59), tzinfo=PARIS)


def live_world(app, client) -> dict[str, object]:
    """An order, group and trainee around today, and a tutorat session running now."""
    from core.db import utcnow
    from core.models import Role
    from tests.conftest import make_org, make_trainee, make_user, order_data

    org = make_org("Direct")
    admin, trainer = make_user(Role.ORG_ADMIN, org), make_user(Role.TRAINER, org)
    trainee = make_trainee(org, "Amina")
    h = bearer(app, admin)
    now = utcnow()
    today = now.date()
    order = client.post(
        "/api/v1/orders",
        headers=h,
        json=order_data(
            start_date=today.isoformat(), end_date=(today + timedelta(days=60)).isoformat()
        ),
    ).get_json()
    group = client.post(
        f"/api/v1/orders/{order['id']}/groups",
        headers=h,
        json={"name": "Groupe direct", "component": "Anglais", "trainer_ids": [trainer.id]},
    ).get_json()
    client.post(
        f"/api/v1/groups/{group['id']}/enrolments",
        headers=h,
        json={
            "trainee_id": trainee.id,
            "entry_date": today.isoformat(),
            "planned_centre_hours": 100,
        },
    )
    session = client.post(
        f"/api/v1/groups/{group['id']}/sessions",
        headers=h,
        json={
            "kind": "tutorat",
            "title": "Tutorat en direct",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": min(now + timedelta(minutes=50), paris_day_end(now)).isoformat(),
        },
    ).get_json()
    invitation = client.post(f"/api/v1/trainees/{trainee.id}/invitations", headers=h).get_json()
    return {
        "trainer": trainer,
        "trainee_id": trainee.id,
        "session_id": session["id"],
        "invitation_code": invitation["code"],
    }


# Issue 7: the signing pages at a kiosk, on a phone and on the trainer's screen.

LAPTOP = {"width": 1280, "height": 900}


def sign_in_page(browser, live_url: str, user, viewport=None):  # noqa: ANN001, ANN201
    """A page where `user` signed in through the login form."""
    page = browser.new_page(viewport=viewport or LAPTOP, locale="fr-FR")
    page.goto(f"{live_url}/connexion")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)
    return page


def site_session(app, client, tenant, monkeypatch) -> dict[str, object]:  # noqa: ANN001
    """A site with its animator; tenant's 09:00–11:00 session held there, open at 09:05."""
    from core.models import Role
    from sites.models import Site
    from tests.attendance.support import DAY, Clock, at, open_session, plan
    from tests.conftest import make_user
    from tests.page_support import install_clock

    clock = install_clock(monkeypatch, Clock(at(DAY, 8, 50)))
    site = Site(name="Site de Figeac", department="46", city="Figeac", seats=8)
    db.session.add(site)
    db.session.commit()
    staff = make_user(Role.SITE_STAFF, site_id=site.id)
    session_id = plan(app, client, tenant, start=(9, 0), end=(11, 0), site_id=site.id)
    clock.set(9, 5)
    open_session(client, bearer(app, tenant.trainer), session_id)
    return {"clock": clock, "staff": staff, "session_id": session_id}


def test_code_page_radios_sit_beside_their_labels(browser, live_url):
    """Issue 7: at 320 px the arrival/departure radios sat mid-width, far from their words."""
    page = browser.new_page(viewport=PHONE, locale="fr-FR")
    page.goto(f"{live_url}/code")
    for name in ("votre arrivée", "votre départ"):
        radio = page.get_by_role("radio", name=name)
        box = radio.bounding_box()
        words = radio.evaluate(
            "r => { const range = document.createRange();"
            " range.selectNodeContents(r.parentElement.lastChild);"
            " return range.getBoundingClientRect().left; }"
        )
        assert box["width"] <= 32, name
        assert 0 <= words - (box["x"] + box["width"]) <= 16, name  # the words right after it
    page.get_by_label("Votre code personnel").press("Tab")
    page.keyboard.press("ArrowDown")  # keyboard: the radios are one group
    assert page.get_by_role("radio", name="votre départ").is_checked()
    assert scroll_width(page) <= 320


def test_a_kiosk_keeps_the_field_and_clears_the_outcome(
    browser, live_url, app, client, tenant_a, monkeypatch
):
    """Issue 7: after a success the field keeps the focus for the next trainee, and the
    outcome clears after a few seconds (or as soon as the next trainee types)."""
    world = site_session(app, client, tenant_a, monkeypatch)
    codes = client.post(
        f"/api/v1/sessions/{world['session_id']}/sign-in-codes",
        json={"trainee_ids": [tenant_a.trainee.id]},
        headers=bearer(app, tenant_a.trainer),
    ).get_json()
    kiosk = sign_in_page(browser, live_url, world["staff"])
    kiosk.clock.install()
    kiosk.goto(f"{live_url}/code")
    kiosk.get_by_label("Votre code personnel").fill(codes[0]["code"])
    kiosk.keyboard.press("Enter")
    outcome = kiosk.get_by_role("status").filter(has_text="Présence enregistrée")
    outcome.wait_for()
    kiosk.wait_for_load_state("domcontentloaded")  # the page's script has run
    assert kiosk.evaluate("document.activeElement.id") == "code"
    assert kiosk.get_by_label("Votre code personnel").input_value() == ""
    kiosk.clock.run_for(2000)
    assert outcome.is_visible()  # long enough to be read
    kiosk.clock.run_for(5000)
    assert outcome.count() == 0  # cleared for the next trainee
    kiosk.get_by_label("Votre code personnel").fill("ABCD-EFGH")
    kiosk.keyboard.press("Enter")
    error = kiosk.get_by_role("alert")
    error.wait_for()
    kiosk.wait_for_load_state("domcontentloaded")
    assert kiosk.evaluate("document.activeElement.id") == "code"
    kiosk.keyboard.type("W")  # the next trainee types: the last outcome goes
    assert error.count() == 0

    world["clock"].set(9, 40)  # R7: a departure before the end is confirmed first
    kiosk.get_by_label("Votre code personnel").fill(codes[0]["code"])
    kiosk.get_by_role("radio", name="votre départ").check()
    kiosk.keyboard.press("Enter")
    kiosk.get_by_text("Vous partez avant la fin de la séance").wait_for()
    kiosk.wait_for_load_state("domcontentloaded")
    assert kiosk.evaluate("document.activeElement.textContent") == "Confirmer mon départ"
    kiosk.clock.run_for(31_000)  # nobody confirmed: the next trainee gets an empty page
    kiosk.get_by_label("Votre code personnel").wait_for()
    assert kiosk.get_by_text("Vous partez avant la fin").count() == 0


def test_the_live_screen_shows_the_qr_and_the_arrivals_together(
    browser, live_url, app, client, tenant_a, monkeypatch
):
    """Issue 7: at 1280×900, and in full screen, the QR code and the arrivals (count and the
    latest names) are seen together; at 320 px nothing overflows sideways."""
    from tests.attendance.support import enrol, qr_token

    world = site_session(app, client, tenant_a, monkeypatch)
    for n in range(12):
        enrol(app, client, tenant_a, f"Stagiaire{n}")
    amina = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    token = qr_token(client, bearer(app, tenant_a.trainer), world["session_id"])
    assert client.post("/api/v1/sign-ins", json={"qr": token}, headers=amina).status_code == 201
    screen = sign_in_page(browser, live_url, tenant_a.trainer)
    screen.goto(f"{live_url}/seances/{world['session_id']}/emargement")
    screen.locator("#qr svg").wait_for()
    assert screen.locator("#compte").inner_text() == "1 / 13"
    assert tenant_a.trainee.full_name in screen.locator("#dernieres").inner_text()

    def in_view(selector: str) -> bool:
        box = screen.locator(selector).bounding_box()
        size = screen.evaluate("[innerWidth, innerHeight]")
        inside = box["x"] >= 0 and box["y"] >= 0
        return inside and box["x"] + box["width"] <= size[0] and box["y"] + box["height"] <= size[1]

    for selector in ("#qr svg", "#compte", "#dernieres"):
        assert in_view(selector), selector
    screen.get_by_role("button", name="Plein écran").click()
    screen.wait_for_function("document.fullscreenElement && document.fullscreenElement.id")
    assert screen.evaluate("document.fullscreenElement.id") == "ecran"
    for selector in ("#qr svg", "#compte", "#dernieres"):
        assert in_view(selector), f"plein écran : {selector}"
    assert screen.locator("#qr svg").bounding_box()["height"] >= 400  # readable from afar
    screen.get_by_role("button", name="Quitter le plein écran").click()
    screen.wait_for_function("!document.fullscreenElement")

    phone = sign_in_page(browser, live_url, tenant_a.trainer, viewport=PHONE)
    phone.goto(f"{live_url}/seances/{world['session_id']}/emargement")
    phone.locator("#qr svg").wait_for()
    assert scroll_width(phone) <= 320
