"""The pure rules of certificates: months, totals, fingerprints, short ids, names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from certificates import rules
from core.errors import InvalidInput


def line(kind: str, minutes: int, status: str = "present", **extra) -> rules.Line:  # noqa: ANN003
    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    return rules.Line("s1", date(2026, 3, 10), start, start, kind, "T", status, minutes, **extra)


def test_a_month_is_its_first_and_last_days():
    assert rules.parse_month("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert rules.parse_month("2024-12") == (date(2024, 12, 1), date(2024, 12, 31))
    for bad in ("2026-13", "26-01", "2026-1", "", None, "1800-01"):
        with pytest.raises(InvalidInput):
            rules.parse_month(bad)


def test_totals_per_modality_with_company_and_distance():
    totals = rules.totals(
        [line("tutorat", 120), line("autoformation", 90), line("regroupement", 60)]
    )
    assert totals.by_modality == {
        "tutorat": 120,
        "autoformation": 90,
        "regroupement": 60,
        "entreprise": 0,
    }
    assert (totals.total, totals.distance) == (270, 210)
    assert rules.hours_text(270) == "4 h 30"
    assert rules.hours_text(0) == "0 h"
    assert rules.hours(90) == 1.5


def test_the_fingerprint_changes_with_the_facts_only():
    one = rules.fingerprint("attendance", "2026-03", [line("tutorat", 120)])
    assert one == rules.fingerprint("attendance", "2026-03", [line("tutorat", 120)])
    assert one != rules.fingerprint("attendance", "2026-03", [line("tutorat", 119)])
    absent = line("tutorat", 0, "absent", absences=(("Malade", True),))
    assert rules.fingerprint("attendance", "2026-03", [absent]) != rules.fingerprint(
        "attendance", "2026-03", [line("tutorat", 0, "absent", absences=(("Malade", False),))]
    )


def test_short_ids_are_unambiguous_and_forgive_typing():
    made = {rules.new_short_id() for _ in range(200)}
    assert len(made) == 200
    assert all(rules.SHORT_ID.fullmatch(i) and not set(i) & set("01OI") for i in made)
    assert rules.normal_short_id("abcde fghjk") == "ABCDEFGHJK"
    assert rules.normal_short_id("ABCDE-FGH0K") is None  # a zero is never printed


def test_names_say_initials_and_files_are_ascii():
    assert rules.initials("Amina", "Stagiaire") == "A. S."
    assert rules.initials("Éloïse", "d'Artagnan") == "É. D."
    name = rules.file_name("attendance", "Brûlé-Noël", "Zoé", "2026-03", "ABCDEFGHJK")
    assert name == "attestation-assiduite_2026-03_BRULE-NOEL-Zoe_ABCDEFGHJK.pdf"
    assert (
        rules.file_name("realisation", "Li", "Bo", "", "X") == "certificat-realisation_LI-Bo_X.pdf"
    )
