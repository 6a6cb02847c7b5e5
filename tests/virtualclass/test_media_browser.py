"""Audio and video through Janus (issue 11, points 4 and 7; R16): in headless Chromium with
fake camera and microphone, a trainer and a trainee enter the class; the trainer publishes to
the session's VideoRoom on a Janus started on loopback, and the trainee receives the trainer's
video: bytes received and frames decoded, read from WebRTC's own statistics (getStats).
Without Janus, the same page says media is unavailable while the class goes on."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.conftest import PASSWORD, Tenant, bearer
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, live_url  # noqa: F401 - fixture
from virtualclass.janus_local import LocalJanus, installed

pytestmark = pytest.mark.browser
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 320, "height": 640}

# What the trainee's page reads from its subscriptions' peer connections.
INBOUND_VIDEO = """async () => {
  const feeds = Object.values(window.classMedia.feeds);
  let bytes = 0, frames = 0;
  for (const handle of feeds) {
    const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
    if (!pc) continue;
    (await pc.getStats()).forEach(r => {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        bytes += r.bytesReceived || 0; frames += r.framesDecoded || 0;
      }
    });
  }
  return {feeds: feeds.length, bytes, frames};
}"""


@pytest.fixture
def media_browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI for the browser tests.")
        pytest.skip(f"{CHROMIUM} is not installed on this machine.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def janus(app, monkeypatch) -> Iterator[LocalJanus]:
    if not installed():
        if os.environ.get("CI") == "true":
            pytest.fail("Janus is required in CI (scripts/system-deps.sh installs it).")
        pytest.skip("Janus is not installed (apt-get install janus)")
    with LocalJanus() as server:
        for name, value in server.env().items():
            monkeypatch.setitem(app.config, name, value)
        yield server


def staff_page(browser, url: str, email: str, viewport=LAPTOP):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{url}/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda target: "/connexion" not in target)
    return page


def trainee_page(browser, url: str, app, client, tenant: Tenant):  # noqa: ANN001, ANN201
    issued = client.post(
        f"/api/v1/trainees/{tenant.trainee.id}/invitations", headers=bearer(app, tenant.admin)
    )
    context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
    page = context.new_page()
    page.goto(f"{url}/invitation#{issued.get_json()['code']}")
    page.get_by_role("button", name="Activer").click()
    page.get_by_role("heading", name="Mes séances").wait_for()
    return page


def received_video(page, janus: LocalJanus, seconds: float = 30.0) -> dict[str, int]:  # noqa: ANN001
    """The trainee's inbound video statistics, once more than 10 frames and 10,000 bytes
    (what the test asserts) are in (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        stats: dict[str, int] = page.evaluate(INBOUND_VIDEO)
        arrived = stats["frames"] > 10 and stats["bytes"] > 10_000
        if arrived or time.monotonic() > deadline:
            assert stats["frames"] > 10, (stats, janus.log.read_text()[-3000:])
            return stats
        page.wait_for_timeout(500)


def test_the_trainee_receives_the_trainers_video_through_janus(
    media_browser,
    live_url,  # noqa: F811 - the fixture
    app,
    client,
    tenant_a,
    janus,
    now_session,
):
    trainer = staff_page(media_browser, live_url, tenant_a.trainer.email)
    trainer.goto(f"{live_url}/classe/{now_session}")
    trainer.wait_for_function(
        "document.getElementById('media-etat').textContent.includes('en direct')", timeout=20_000
    )
    assert trainer.locator("#v-moi video").count() == 1  # the trainer sees their own camera

    trainee = trainee_page(media_browser, live_url, app, client, tenant_a)
    trainee.goto(f"{live_url}/classe/{now_session}")
    trainee.locator("#participants li").nth(1).wait_for(timeout=10_000)
    trainee.wait_for_function(
        "document.querySelectorAll('#videos video').length >= 1", timeout=20_000
    )
    stats = received_video(trainee, janus)
    assert stats["feeds"] == 1
    assert stats["bytes"] > 10_000
    assert stats["frames"] > 10
    caption = trainee.locator("#videos figcaption").first.inner_text()
    assert caption == tenant_a.trainer.full_name
    assert trainee.evaluate("document.documentElement.scrollWidth") <= 320


def test_without_janus_the_class_says_media_is_unavailable_and_chat_works(
    media_browser,
    live_url,  # noqa: F811 - the fixture
    app,
    client,
    tenant_a,
    now_session,
):
    assert not app.config["JANUS_URL"]
    trainee = trainee_page(media_browser, live_url, app, client, tenant_a)
    trainee.goto(f"{live_url}/classe/{now_session}")
    trainee.wait_for_function(
        "document.getElementById('media-etat').textContent.includes('pas disponible')",
        timeout=10_000,
    )
    trainee.get_by_label("Votre message").fill("Bonjour à tous")
    trainee.get_by_role("button", name="Envoyer").click()
    trainee.locator("#messages li", has_text="Bonjour à tous").wait_for(timeout=10_000)
    assert trainee.evaluate("document.documentElement.scrollWidth") <= 320
    # Two presence lists told at once arrive in either order: the page keeps the later one.
    assert trainee.locator("#compte").inner_text() == "1"
    tell = "([people, version]) => window.classSocket.listeners('presence')[0]({people, version})"
    someone = {"id": "x", "kind": "trainee", "name": "Zoé Martin", "since": ""}
    trainee.evaluate(tell, [[someone, {**someone, "id": "y"}], 1_000])
    assert trainee.locator("#compte").inner_text() == "2"
    trainee.evaluate(tell, [[], 999])  # read earlier, arrived later: not drawn
    assert trainee.locator("#compte").inner_text() == "2"
    assert trainee.locator("#participants li").count() == 2


def test_ending_the_class_destroys_its_room_and_revokes_the_tokens(
    app, client, tenant_a, janus, session_id_now_joined
):
    """After « Terminer la classe », a participant's Janus token no longer opens a session."""
    import json
    import urllib.request

    from virtualclass import media

    session_id, trainer, person_id = session_id_now_joined
    token = media.participant_token(session_id, person_id)

    def create(with_token: str) -> dict:
        body = json.dumps({"janus": "create", "transaction": "t", "token": with_token}).encode()
        request = urllib.request.Request(janus.url, data=body, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return json.loads(answer.read())

    assert create(token)["janus"] == "success"
    ended = trainer.emit(
        "control", {"session_id": session_id, "action": "end"}, namespace="/class", callback=True
    )
    assert ended["ok"] is True
    refused = create(token)
    assert refused["janus"] == "error"
    assert refused["error"]["code"] == 403


@pytest.fixture
def session_id_now_joined(app, client, tenant_a, now_session, janus):  # noqa: ANN001, ANN201
    """The trainer joined the class of a session running now (Janus configured)."""
    from tests.virtualclass.conftest import joined

    trainer = joined(app, client, bearer(app, tenant_a.trainer), now_session)
    return now_session, trainer, tenant_a.trainer.id
