"""The tamper-evident signature ledger: the pure chain, then tampering with the stored rows of a
real session and what `GET /api/v1/ledger/verify` and `flask ledger verify` tell about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Table, delete, insert, select, update

from attendance import ledger
from attendance.models import TrainingSession
from core.db import new_id
from core.extensions import db
from tests.attendance.support import (
    SIGNATURES,
    Built,
    forge,
    run_sql,
    set_row,
    shift_seqs,
    verify,
)
from tests.conftest import bearer

VERIFY = "/api/v1/ledger/verify"
SESSIONS = cast(Table, TrainingSession.__table__)


# --- the pure chain -------------------------------------------------------------------------------


SALT = "00112233445566778899aabbccddeeff"


def entry(session_id: str = "s1", seq: int = 1, version: int = 2, **fields: Any) -> dict[str, Any]:
    """An entry as the journal stores it (version 2: the personal part committed, salted)."""
    values = {
        "id": f"e{seq}",
        "organisation_id": "o1",
        "session_id": session_id,
        "seq": seq,
        "v": version,
        "kind": "sign_in",
        "signer_kind": "trainee",
        "signer_id": f"t{seq}",
        "half_day": "am",
        "at": datetime(2026, 3, 10, 8, seq, 30, 123456, tzinfo=UTC),
        "method": "qr",
        "channel": "home",
        "device": {"ua": "Mozilla/5.0", "ip": "192.0.2.1"},
        "author_id": None,
        "action": None,
        "reason": None,
        "justified": None,
        "facts": None,
    }
    values.update(fields)
    if version == 2:
        values["salt"] = SALT
        values["commitment"] = ledger.commitment(SALT, ledger.personal(values))
    else:
        values.pop("v")
    return values


def chain(session_id: str = "s1", length: int = 5, version: int = 2) -> list[dict[str, Any]]:
    entries, prev = [], ledger.genesis(session_id)
    for seq in range(1, length + 1):
        item = entry(session_id, seq, version)
        item["prev_hash"], item["hash"] = prev, ledger.entry_hash(prev, item)
        prev = item["hash"]
        entries.append(item)
    return entries


def test_canonical_is_deterministic_whatever_the_key_order_or_time_zone():
    one = entry()
    shuffled = dict(reversed(list(one.items())))
    paris = one | {"at": one["at"].astimezone(ZoneInfo("Europe/Paris"))}
    assert ledger.canonical(one) == ledger.canonical(shuffled) == ledger.canonical(paris)
    assert ledger.canonical(one) == ledger.canonical(dict(one))


def test_canonical_keeps_microseconds_and_accents():
    text = ledger.canonical(entry(version=1, reason="Arrêt maladie")).decode()
    assert '"at":"2026-03-10T08:01:30.123456Z"' in text
    assert "Arrêt maladie" in text


def test_canonical_covers_every_stored_column_but_the_personal_part_and_the_links():
    """Issue 8: every stored column of an entry is covered by its hash; the personal part
    (device, network, reason) through its salted commitment, so that it can be purged."""
    from attendance.models import Signature

    columns = {column.key for column in Signature.__table__.columns}
    linked = {"prev_hash", "hash"}
    assert set(ledger.FIELDS) == columns - linked - set(ledger.PERSONAL) - {"salt"}
    base = entry()
    for name in ledger.FIELDS:
        if name == "v":
            continue  # the format itself: checked below
        changed = base | {name: "changed" if base[name] != "changed" else "other"}
        assert ledger.canonical(changed) != ledger.canonical(base), name
        assert ledger.entry_hash("p", changed) != ledger.entry_hash("p", base), name
    assert ledger.canonical(base | {"v": 1}) != ledger.canonical(base)


def test_the_personal_part_is_bound_by_its_commitment_and_can_be_purged():
    entries = chain(length=3)
    head = entries[-1]["hash"]
    for name, value in (("device", {"ip": "203.0.113.9"}), ("reason", "Réécrit"), ("salt", "ff")):
        altered = [*entries[:1], entries[1] | {name: value}, *entries[2:]]
        report = ledger.verify_chain("s1", altered, 3, head)
        assert report.fault is not None
        assert (report.fault.seq, report.fault.reason) == (
            2,
            "personal facts altered (device, network or reason)",
        )
    purged = [e | {"device": {}, "reason": None, "salt": None} for e in entries]
    assert ledger.verify_chain("s1", purged, 3, head).fault is None
    half = [*entries[:1], entries[1] | {"salt": None}, *entries[2:]]
    report = ledger.verify_chain("s1", half, 3, head)
    assert report.fault is not None
    assert report.fault.reason == "personal facts kept without their salt"


def test_entries_of_the_first_format_still_verify():
    entries = chain(length=3, version=1)
    assert ledger.verify_chain("s1", entries, 3, entries[-1]["hash"]).fault is None
    altered = [*entries[:1], entries[1] | {"reason": "Réécrit"}, *entries[2:]]
    fault = ledger.verify_chain("s1", altered, 3, entries[-1]["hash"]).fault
    assert fault is not None
    assert fault.seq == 2


def test_fields_outside_the_ledger_are_not_evidence():
    base = entry()
    extra = base | {"prev_hash": "x", "hash": "y"}
    assert ledger.canonical(extra) == ledger.canonical(base)


def test_entry_hash_depends_on_the_previous_hash():
    assert ledger.entry_hash("a" * 64, entry()) != ledger.entry_hash("b" * 64, entry())


def test_genesis_is_per_session_so_a_chain_cannot_be_moved():
    assert ledger.genesis("s1") != ledger.genesis("s2")
    report = ledger.verify_chain("s2", chain("s1", 2), 2, chain("s1", 2)[-1]["hash"])
    assert report.fault is not None


def test_verify_chain_of_an_intact_chain_answers_its_length_and_head():
    entries = chain(length=5)
    report = ledger.verify_chain("s1", entries, 5, entries[-1]["hash"])
    assert (report.fault, report.length, report.head) == (None, 5, entries[-1]["hash"])


def test_verify_chain_of_an_empty_session():
    report = ledger.verify_chain("s1", [], 0, "")
    assert (report.fault, report.length) == (None, 0)


@given(
    position=st.integers(min_value=0, max_value=5),
    name=st.sampled_from([*ledger.FIELDS, *ledger.PERSONAL, "salt"]),
    value=st.text(max_size=5) | st.integers() | st.none(),
)
def test_verify_chain_names_the_first_altered_entry(position, name, value):
    entries = chain(length=6)
    if entries[position].get(name) == value or name in ("seq", "session_id", "v"):
        return  # renumbering and moving are checked below; the format above
    entries[position] = entries[position] | {name: value}
    report = ledger.verify_chain("s1", entries, 6, entries[-1]["hash"])
    assert report.fault is not None
    assert (report.fault.seq, report.fault.entry_id) == (position + 1, entries[position]["id"])


def test_verify_chain_names_an_entry_of_another_session():
    entries = chain(length=3)
    entries[1] = entries[1] | {"session_id": "s9"}
    report = ledger.verify_chain("s1", entries, 3, entries[-1]["hash"])
    assert report.fault is not None
    assert (report.fault.seq, report.fault.entry_id) == (2, "e2")


# --- a real session's chain, then tampering with its stored rows ------------------------------


def test_ledger_untampered_verifies_with_every_entry_and_a_stable_head(
    app, client, tenant_a, built, region, runner
):
    admin_h = bearer(app, tenant_a.admin)
    first = verify(client, admin_h)
    assert (first["ok"], first["length"], first["first_bad"]) == (True, 11, None)
    assert first["sessions"] == 2  # and the tenant's other session: its plan alone
    assert len(first["head"]) == 64
    assert verify(client, admin_h)["head"] == first["head"]
    everything = verify(client, bearer(app, region))
    assert (everything["ok"], everything["length"]) == (True, 11)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "11 entrées" in result.output
    assert everything["head"] in result.output


def test_ledger_head_moves_when_an_entry_is_appended(app, client, tenant_a, built):
    admin_h = bearer(app, tenant_a.admin)
    before = verify(client, admin_h)
    answer = client.post(
        f"/api/v1/sessions/{built.session_id}/corrections",
        json={"trainee_id": built.people["Amina"], "action": "mark_absent", "reason": "Erreur"},
        headers=admin_h,
    )
    assert answer.status_code == 201
    after = verify(client, admin_h)
    assert (after["ok"], after["length"]) == (True, 12)
    assert after["head"] != before["head"]


@dataclass
class Expected:
    seq: int | tuple[int, ...]
    entry_id: Any  # a str, None, {seq: id}, or ... when not checked
    reason: str


def edit_at(built: Built) -> Expected:
    row = built.entry(3)
    set_row(row["id"], at=row["at"] - timedelta(minutes=30))  # "she was there earlier"
    return Expected(row["seq"], row["id"], "altered")


def edit_method(built: Built) -> Expected:
    row = built.entry(2)
    set_row(row["id"], method="code")
    return Expected(row["seq"], row["id"], "altered")


def edit_signer(built: Built) -> Expected:
    row = built.entry(4)
    set_row(row["id"], signer_id=built.people["Dora"])
    return Expected(row["seq"], row["id"], "altered")


def edit_reason(built: Built) -> Expected:
    row = built.entry(7)
    set_row(row["id"], reason="Motif réécrit")
    return Expected(row["seq"], row["id"], "altered")


def edit_channel_and_rehash(built: Built) -> Expected:
    """The forger recomputes the edited entry's hash: the next entry's link breaks."""
    row = built.entry(5)
    changed = row | {"channel": "centre"}
    set_row(row["id"], channel="centre", hash=ledger.entry_hash(row["prev_hash"], changed))
    following = built.row(row["seq"] + 1)
    return Expected(following["seq"], following["id"], "link")


def edit_device(built: Built) -> Expected:
    row = built.entry(3)
    set_row(row["id"], device=row["device"] | {"ip": "203.0.113.9"})
    return Expected(row["seq"], row["id"], "altered")


def edit_plan(built: Built) -> Expected:
    """The plan's end moved three hours later in the chain itself (not only the column)."""
    row = built.row(1)
    facts = dict(row["facts"])
    facts["ends_at"] = facts["ends_at"].replace("T11:", "T14:")
    set_row(row["id"], facts=facts)
    return Expected(1, row["id"], "altered")


def delete_middle(built: Built) -> Expected:
    seq = built.seq(4)
    run_sql(delete(SIGNATURES).where(SIGNATURES.c.id == built.entry(4)["id"]))
    return Expected(seq, ..., str(seq))


def delete_last(built: Built) -> Expected:
    last = built.rows[-1]
    run_sql(delete(SIGNATURES).where(SIGNATURES.c.id == last["id"]))
    return Expected(last["seq"], None, "missing")


def insert_after_the_last(built: Built) -> Expected:
    last = built.rows[-1]
    forged = forge(built, last["seq"] + 1, last["hash"])  # the session's head left as it was
    return Expected(last["seq"] + 1, forged["id"], "")


def insert_in_the_middle(built: Built) -> Expected:
    seq = built.seq(3)
    shift_seqs(built.session_id, seq, 1)
    forged = forge(built, seq, built.row(seq - 1)["hash"])
    # The forged entry links to the one before; the shifted entry after it no longer links to
    # it: the break is named at either side of that link.
    return Expected((seq, seq + 1), {seq: forged["id"], seq + 1: built.row(seq)["id"]}, "")


def swap_two_entries(built: Built) -> Expected:
    third, fifth = built.entry(3), built.entry(5)
    set_row(third["id"], seq=-1)
    set_row(fifth["id"], seq=third["seq"])
    set_row(third["id"], seq=fifth["seq"])
    return Expected(third["seq"], fifth["id"], "")


def change_session_head(built: Built) -> Expected:
    run_sql(update(SESSIONS).where(SESSIONS.c.id == built.session_id).values(chain_head="f" * 64))
    length = len(built.rows)
    return Expected((length, length + 1), ..., "head")


def close_later_in_the_columns(built: Built) -> Expected:
    """Issue 8: realised minutes went from 811 to 2,071 and the head did not change."""
    with db.engine.connect() as conn:
        ends_at = conn.scalar(select(SESSIONS.c.ends_at).where(SESSIONS.c.id == built.session_id))
    assert ends_at is not None
    later = ends_at + timedelta(hours=3)
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == built.session_id)
        .values(status="closed", closed_at=later, ends_at=later)
    )
    return Expected(len(built.rows), None, "the session's ends_at says")


def open_again_in_the_columns(built: Built) -> Expected:
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == built.session_id)
        .values(status="open", closed_at=None, closed_by_id=None)
    )
    return Expected(len(built.rows), None, "the session's status says open, its chain says closed")


def sign_in_after_the_close(built: Built) -> Expected:
    """A sign-in appended after the close, hashed and linked properly, the head moved: the
    service never writes one, the replay refuses it."""
    last = built.rows[-1]
    sample = built.entry(2)  # a trainee's sign-in
    values = {name: sample[name] for name in sample if name not in ("prev_hash", "hash")}
    values |= {"id": new_id(), "seq": last["seq"] + 1, "signer_id": built.people["Dora"]}
    values |= {"prev_hash": last["hash"], "hash": ledger.entry_hash(last["hash"], values)}
    run_sql(insert(SIGNATURES).values(**values))
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == built.session_id)
        .values(chain_length=values["seq"], chain_head=values["hash"])
    )
    return Expected(values["seq"], values["id"], "a signature while the session was not open")


def wipe_the_chain(built: Built) -> Expected:
    run_sql(delete(SIGNATURES).where(SIGNATURES.c.session_id == built.session_id))
    run_sql(
        update(SESSIONS)
        .where(SESSIONS.c.id == built.session_id)
        .values(chain_length=0, chain_head="")
    )
    return Expected(0, None, "the session's kind says tutorat, its chain says nothing")


TAMPERING = [
    wipe_the_chain,
    close_later_in_the_columns,
    open_again_in_the_columns,
    sign_in_after_the_close,
    edit_at,
    edit_plan,
    edit_method,
    edit_signer,
    edit_reason,
    edit_device,
    edit_channel_and_rehash,
    delete_middle,
    delete_last,
    insert_after_the_last,
    insert_in_the_middle,
    swap_two_entries,
    change_session_head,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__ for t in TAMPERING])
def test_ledger_tampering_is_found_and_the_first_bad_entry_named(
    app, client, tenant_a, built, region, runner, tamper
):
    expected = tamper(built)
    for headers in (bearer(app, tenant_a.admin), bearer(app, region)):
        report = verify(client, headers)
        assert report["ok"] is False, report
        bad = report["first_bad"]
        assert bad["session_id"] == built.session_id
        seqs = expected.seq if isinstance(expected.seq, tuple) else (expected.seq,)
        assert bad["seq"] in seqs, bad
        if isinstance(expected.entry_id, dict):
            assert bad["entry_id"] == expected.entry_id[bad["seq"]], bad
        elif expected.entry_id is not ...:
            assert bad["entry_id"] == expected.entry_id, bad
        assert expected.reason in bad["reason"], bad
        assert bad["reason"].strip()

    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1, result.output
    assert built.session_id in result.output
    assert f"n° {bad['seq']}" in result.output
    if bad["entry_id"]:
        assert bad["entry_id"] in result.output


def test_ledger_of_another_organisation_is_its_own_and_unaffected(
    app, client, tenant_a, tenant_b, built, region
):
    other_h = bearer(app, tenant_b.admin)
    theirs = verify(client, other_h)
    assert (theirs["ok"], theirs["length"], theirs["sessions"]) == (True, 1, 1)
    delete_middle(built)
    assert verify(client, other_h) == theirs
    assert verify(client, bearer(app, tenant_a.admin))["ok"] is False
    everything = verify(client, bearer(app, region))
    assert everything["ok"] is False
    assert everything["first_bad"]["session_id"] == built.session_id


def test_ledger_verify_from_the_command_line_for_one_organisation(
    app, client, tenant_a, tenant_b, built, runner
):
    delete_last(built)
    theirs = runner.invoke(args=["ledger", "verify", "--organisation-id", tenant_b.org.id])
    assert theirs.exit_code == 0, theirs.output
    assert "1 entrées" in theirs.output
    mine = runner.invoke(args=["ledger", "verify", "--organisation-id", tenant_a.org.id])
    assert mine.exit_code == 1
    assert built.session_id in mine.output


@pytest.mark.parametrize("who", ["trainer", "finance", "trainee"])
def test_ledger_verify_is_for_org_admins_and_the_region(app, client, tenant_a, who):
    user = getattr(tenant_a, who)
    headers = bearer(app, user, dev=tenant_a.invitation_id if who == "trainee" else None)
    assert client.get(VERIFY, headers=headers).status_code == 403
    assert client.get(VERIFY).status_code == 401


def test_hours_are_computed_from_the_chain_not_from_the_session_columns(
    app, client, tenant_a, built
):
    admin_h = bearer(app, tenant_a.admin)
    url = f"/api/v1/sessions/{built.session_id}/attendance"
    before = client.get(url, headers=admin_h).get_json()
    close_later_in_the_columns(built)
    after = client.get(url, headers=admin_h).get_json()
    assert [i["minutes"] for i in after["items"]] == [i["minutes"] for i in before["items"]]
    assert sum(i["minutes"] for i in after["items"]) > 0
    assert (after["status"], after["held"]) == (before["status"], before["held"])
