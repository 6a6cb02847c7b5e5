"""The benchmarks of issue 9 (bench/certificates.py, bench/billing.py) cannot rot: a group's
year of the billing data is what the service would chain, and the reports name their targets.
Not timed: nothing here depends on the machine's speed."""

from __future__ import annotations

from attendance import projection
from bench import billing
from bench.billing import SIGNATURE_COLUMNS, Group, _Counter, _year_of
from bench.certificates import CertificatesRun, Rate
from bench.certificates import render as render_certificates

KIND, SEQ, AT = (SIGNATURE_COLUMNS.index(name) for name in ("kind", "seq", "at"))


def test_a_groups_year_replays_to_its_sessions_and_varies_as_planned() -> None:
    group = Group(
        "o" * 24, "t" * 24, "g" * 24, "s" * 24, [f"{t:024d}" for t in range(20)], ["{}"] * 20
    )
    year = list(_year_of(group, 0, billing.YEAR, _Counter()))
    kinds = {row[4] for row, _, _ in year}
    assert kinds == {"tutorat", "autoformation", "regroupement"}
    never_opened = 0
    for row, chain, listed in year:
        assert [entry[SEQ] for entry in chain] == list(range(1, len(chain) + 1))
        state = projection.replay(
            {"kind": e[KIND], "at": e[AT], "author_id": None, "facts": _facts(e)} for e in chain
        )
        assert state.starts_at is not None
        assert (state.kind, state.starts_at.replace(tzinfo=None)) == (row[4], row[6])
        assert state.status == row[8]
        assert (state.participants is None) == (not listed)
        never_opened += state.opened_at is None
    assert never_opened > 0  # some sessions are not held
    fridays = [row for row, _, listed in year if listed]
    assert fridays[0][6] == fridays[1][6]  # two sub-groups in parallel: a union to take
    assert sum(len(c) for _, c, _ in year) == billing.entries_per_group()


def _facts(entry: tuple) -> dict | None:
    import json

    return json.loads(entry[SIGNATURE_COLUMNS.index("facts")] or "null")


def test_the_certificates_report_states_each_target_met_or_not() -> None:
    def rate(label: str, count: int, wall: float, processes: int, ms: float) -> Rate:
        return Rate(label, count, wall, processes, {"bench": count * ms / 1000})

    run = CertificatesRun(
        groups=1,
        days=20,
        entries=1840,
        one=rate("bulk, 1 process", 40, 1.0, 1, 20.0),
        two=rate("bulk, 2 processes", 40, 0.5, 2, 20.0),
        layout_one=rate("layout only, 1 process", 40, 0.4, 1, 10.0),
        layout_two=rate("layout only, 2 processes", 40, 0.2, 2, 10.0),
    )
    text = "\n".join(render_certificates(run))
    assert "≥ 60 certificates/s per core in bulk (50.0: not met" in text
    assert "two processes ≥ 1.8 × one (2.00 ×: met" in text
    assert "signed with an image" not in text  # not measured: not reported
    run.layout_signed = rate("layout only, signed with an image, 1 process", 40, 0.5, 1, 12.5)
    text = "\n".join(render_certificates(run))
    assert "| layout only, signed with an image, 1 process | 40 | 0.5 | 80.0 |" in text
    assert "the layout alone draws 80.0 certificates/s per core against 100.0 (0.80 ×)" in text


def test_the_billing_report_compares_the_year_with_its_floor() -> None:
    months = [billing.Month(m, [1.0], [1.2], [1.4], 10, 10, 50, 60) for m in range(1, 13)]
    for month in months:
        month.cpu = {"floor_s": [0.5], "statement_s": [0.6], "use_case_s": [1.0]}
    run = billing.BillingRun(billing.Build(1, 2, 3, 4, 5.0), months, rounds=1)
    text = "\n".join(billing.render(run))
    assert "| the whole use case | 16.8 | 1.40 | 12.0 | 2.00 |" in text
    assert "≤ 1.5 × the floor (1.40 ×: met), under 10 s for the year (16.8 s: not met)" in text
    assert run.ok
    months[3].billable_minutes = 61  # billed more than the held sessions' sum: a fault
    assert not run.ok
