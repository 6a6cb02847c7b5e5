"""The forms speak French: marshmallow's English messages turned into the sentence people read."""

from __future__ import annotations

import pytest

from core.forms import french_message


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("Not a valid date.", "Indiquez une date valide (jj/mm/aaaa)."),
        ("Not a valid datetime.", "Indiquez une date et une heure valides."),
        ("Missing data for required field.", "Ce champ est obligatoire."),
        (["Not a valid number."], "Indiquez un nombre."),
    ],
)
def test_each_message_gets_its_own_sentence(english, french):
    assert french_message(english) == french


def test_an_unknown_message_is_still_french():
    assert french_message("Something else.") == "Cette valeur n'est pas valide."
