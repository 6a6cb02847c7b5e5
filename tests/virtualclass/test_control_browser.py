"""Remote control on the class page, in headless Chromium (R16): the trainer asks to guide a
trainee's screen, the trainee's phone asks for consent, the trainer points with the keyboard
and the trainee sees the pointer where it was put, then takes the screen back. Without Janus
the pointer is drawn over the shared board."""

from __future__ import annotations

import pytest

from tests.test_browser import live_url  # noqa: F401 - fixture
from tests.virtualclass.test_media_browser import (  # noqa: F401 - the fixture
    media_browser,
    staff_page,
    trainee_page,
)

pytestmark = pytest.mark.browser


def test_the_trainer_guides_a_trainees_board_with_consent_r16(
    media_browser,  # noqa: F811 - the fixture
    live_url,  # noqa: F811 - the fixture
    app,
    client,
    tenant_a,
    now_session,
):
    trainee_name = tenant_a.trainee.full_name
    trainer_name = tenant_a.trainer.full_name
    trainer = staff_page(media_browser, live_url, tenant_a.trainer.email)
    trainer.goto(f"{live_url}/classe/{now_session}")
    trainee = trainee_page(media_browser, live_url, app, client, tenant_a)
    trainee.goto(f"{live_url}/classe/{now_session}")
    ask = trainer.get_by_role("button", name=f"Guider l'écran de {trainee_name} (avec son accord)")
    ask.click(timeout=15_000)
    trainer.get_by_text(f"Demande envoyée à {trainee_name} : en attente de son accord.").wait_for()

    dialog = trainee.get_by_role("alertdialog", name="Demande de guidage de votre écran")
    dialog.wait_for(timeout=10_000)
    assert trainer_name in dialog.inner_text()
    assert "Il ne peut ni cliquer ni écrire à votre place" in dialog.inner_text()
    dialog.get_by_role("button", name="Accepter").click()
    granted = f"{trainer_name} guide votre écran : son pointeur s'y affiche pour toute la classe."
    trainee.get_by_text(granted).wait_for(timeout=10_000)
    assert dialog.is_hidden()
    trainer.get_by_text(f"Vous guidez l'écran de {trainee_name}.").wait_for(timeout=10_000)
    assert trainer.get_by_text("Vous guidez : pointez sur l'écran partagé").is_visible()

    board = trainer.locator("#tableau")
    board.focus()
    for _ in range(5):
        trainer.keyboard.press("ArrowRight")
    trainer.keyboard.press("Enter")
    trainee.wait_for_function(
        "(() => { const p = document.getElementById('pointeur');"
        " return p && !p.hidden && p.dataset.x === '0.6' && p.classList.contains('clic'); })()",
        timeout=10_000,
    )
    assert trainee.locator("#pointeur").evaluate("p => p.dataset.y") == "0.5"
    assert trainee.evaluate("document.documentElement.scrollWidth") <= 320

    trainee.get_by_role("button", name="Arrêter le guidage").click()
    trainer.get_by_text(f"Guidage de l'écran de {trainee_name} terminé.").wait_for(timeout=10_000)
    assert trainer.get_by_text("Vous guidez").is_hidden()
    assert trainee.locator("#pointeur").is_hidden()
