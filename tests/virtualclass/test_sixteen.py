"""Sixteen participants in one class at once (R16: audio and video for at least 16
simultaneous participants; issue 11, "Done when"): a trainer and 15 trainees on the Socket.IO
side, where everyone sees the 16 present, a chat message reaches all 16, and a presence check
answered by the 15 trainees gives 15 `virtual_class` signatures."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from attendance.models import TrainingSession
from core.extensions import db
from tests.attendance.support import enrol, rows
from tests.conftest import Tenant, bearer
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, live_url  # noqa: F401 - fixture
from tests.virtualclass.conftest import NS, ask, connect, received
from tests.virtualclass.test_media_browser import (  # noqa: F401 - the janus fixture
    FAKE_MEDIA,
    INBOUND_VIDEO,
    janus,
    staff_page,
)
from virtualclass import services

TRAINEES = 15
ROOM_STATE = (  # what a page shows of the room (nothing yet while it still loads)
    "[document.getElementById('compte')?.textContent ?? '',"
    " document.getElementById('etat-connexion')?.textContent ?? '']"
)


def test_a_trainer_and_fifteen_trainees_share_one_class_r16(
    app, client, tenant_a, session_id, trainer_h, amina, clock
):
    learners = [amina] + [enrol(app, client, tenant_a, f"Élève{n}") for n in range(2, 16)]
    assert len(learners) == TRAINEES
    everyone = [trainer_h] + [learner.headers for learner in learners]
    socks = []
    for headers in everyone:
        sock = connect(app, client, headers)
        assert sock.is_connected(NS)
        answer = ask(sock, "join", {"session_id": session_id})
        assert answer["ok"] is True, answer
        socks.append(sock)
    assert len(answer["presence"]) == 16  # the last one in sees the 16 present
    people = {tenant_a.trainer.id} | {learner.id for learner in learners}
    for sock in socks:  # and every one of them is told so
        last = received(sock, "presence")[-1]
        assert {p["id"] for p in last["people"]} == people
        assert sum(p["kind"] == "trainer" for p in last["people"]) == 1

    trainer, trainees = socks[0], socks[1:]
    said = ask(trainer, "chat", {"session_id": session_id, "text": "Bonjour à tous les seize"})
    assert said["ok"] is True
    for sock in socks:
        (chat,) = received(sock, "chat")
        assert (chat["text"], chat["from"]) == ("Bonjour à tous les seize", tenant_a.trainer.id)

    check = ask(trainer, "presence_check", {"session_id": session_id})
    clock.advance(seconds=20)
    for sock in trainees:
        (notice,) = received(sock, "presence_check")
        answer = ask(
            sock, "presence_ack", {"session_id": session_id, "check_id": check["check_id"]}
        )
        assert answer["ok"] is True, answer
        assert answer["method"] == "virtual_class"
    signed = [r for r in rows(session_id) if r["kind"] == "sign_in"]
    assert len(signed) == TRAINEES
    assert {r["signer_id"] for r in signed} == {learner.id for learner in learners}
    assert {r["method"] for r in signed} == {"virtual_class"}
    acks = received(trainer, "presence_ack")
    assert len(acks) == TRAINEES  # the trainer sees each answer come in
    sheet = services.class_sheet(db.session.get(TrainingSession, session_id), clock.now)
    assert sheet.held
    assert sheet.checks == 1
    assert [line.answered for line in sheet.lines] == [1] * TRAINEES


# --- the same in browsers, through Janus ----------------------------------------------------
# The trainer's page publishes a low-resolution fake camera (160 × 120, 15 images a second,
# from a Y4M file the test writes) to the session's VideoRoom; the 15 trainees' pages each
# subscribe to it through Janus (publish once, subscribe to the others: no mesh), and each
# decodes it, read from WebRTC's own statistics.

SMALL = (160, 120)


def fake_camera(path: Path, frames: int = 30) -> Path:
    """A 2-second Y4M video of 160 × 120 (I420): a bar moving over a grey field."""
    width, height = SMALL
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(frames):
            luma = bytearray([96]) * (width * height)
            left = (n * 5) % width
            for row in range(height):
                start = row * width + left
                luma[start : start + 12] = bytes([230]) * min(12, width - left)
            out.write(b"FRAME\n" + bytes(luma) + bytes([128]) * (width * height // 2))
    return path


@pytest.fixture
def small_camera_browser(tmp_path) -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI for the browser tests.")
        pytest.skip(f"{CHROMIUM} is not installed on this machine.")
    from playwright.sync_api import sync_playwright

    camera = fake_camera(tmp_path / "camera.y4m")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *CHROMIUM_ARGS,
                *FAKE_MEDIA,
                f"--use-file-for-fake-video-capture={camera}",
                "--renderer-process-limit=4",  # 16 pages of one origin share 4 renderers
            ],
        )
        yield chromium
        chromium.close()


def device_pages(browser, url: str, app, tenant: Tenant, trainees: list) -> list:  # noqa: ANN001
    """Each trainee's phone (a browser context of its own), activated by an invitation code
    on /invitation as the link does (posted by a client of the app: the 15 activations
    through the page itself would take most of the test's time on a loaded machine)."""
    pages = []
    for trainee in trainees:
        phone = app.test_client()
        issued = phone.post(
            f"/api/v1/trainees/{trainee.id}/invitations", headers=bearer(app, tenant.admin)
        )
        activated = phone.post("/invitation", data={"code": issued.get_json()["code"]})
        assert activated.status_code == 302, activated.get_data(as_text=True)
        cookie = phone.get_cookie(app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": url}])
        pages.append(context.new_page())
    return pages


@pytest.mark.browser
def test_fifteen_trainees_receive_the_trainers_video_through_janus_r16(
    small_camera_browser,
    live_url,  # noqa: F811 - the fixture
    app,
    client,
    tenant_a,
    janus,  # noqa: F811 - the fixture
    now_session,
):
    browser = small_camera_browser
    others = [enrol(app, client, tenant_a, f"Élève{n}").trainee for n in range(2, 16)]
    trainer = staff_page(browser, live_url, tenant_a.trainer.email)
    trainer.goto(f"{live_url}/classe/{now_session}")
    trainer.wait_for_function(
        "document.getElementById('media-etat').textContent.includes('en direct')", timeout=20_000
    )
    trainees = device_pages(browser, live_url, app, tenant_a, [tenant_a.trainee, *others])
    for page in trainees:  # the 15 pages load side by side
        page.goto(f"{live_url}/classe/{now_session}", wait_until="commit")
    everyone = [trainer, *trainees]
    deadline = time.monotonic() + 60
    while True:
        seen = [page.evaluate(ROOM_STATE) for page in everyone]
        if all(count == "16" for count, _ in seen) or time.monotonic() > deadline:
            break
        trainer.wait_for_timeout(500)
    late = {n: state for n, state in enumerate(seen) if state[0] != "16"}
    assert not late, f"pages (0: the trainer) not showing the 16 present: {late}"
    deadline = time.monotonic() + 60  # bounds on a loaded machine; far less when quiet
    waiting = list(trainees)
    while waiting:
        stats = {page: page.evaluate(INBOUND_VIDEO) for page in waiting}
        # until each has what is asserted below: more than 10 frames and 1,000 bytes (a grey
        # field compresses well: 11 frames may come in fewer bytes)
        waiting = [p for p, seen in stats.items() if seen["frames"] <= 10 or seen["bytes"] <= 1_000]
        if waiting and time.monotonic() > deadline:
            pytest.fail(
                f"{len(waiting)} of 15 trainees decode no video: {janus.log.read_text()[-2000:]}"
            )
        if waiting:
            waiting[0].wait_for_timeout(500)
    for page in trainees:
        stats = page.evaluate(INBOUND_VIDEO)
        assert stats["feeds"] == 1  # the trainer's only: trainees publish when they choose
        assert stats["bytes"] > 1_000  # 160 × 120 of a grey field: small, but received
        assert stats["frames"] > 10
        size = page.evaluate(
            "(() => { const v = document.querySelector('#videos video');"
            " return [v.videoWidth, v.videoHeight]; })()"
        )
        assert tuple(size) == SMALL
        assert page.locator("#videos figcaption").first.inner_text() == tenant_a.trainer.full_name
