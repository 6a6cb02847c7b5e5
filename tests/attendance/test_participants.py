"""Sessions for the whole group, a sub-group or one trainee (issue 8, item 4; SPEC.md "Time and
hours"): only participants sign, a close marks only participants absent, the sheet lists
participants, nobody takes part in two overlapping sessions, no trainer leads two."""

from __future__ import annotations

import pytest

from core.models import Role
from tests.attendance.support import (
    DAY,
    count_rows,
    enrol,
    open_session,
    plan,
    qr_token,
    rows,
    sign_in,
)
from tests.conftest import api_error, bearer, make_user, paris


@pytest.fixture
def lea(app, client, tenant_a):
    return enrol(app, client, tenant_a, "Léa")


@pytest.fixture
def subgroup(app, client, tenant_a, clock, trainer_h, amina):
    """A tutorat 09:00–12:00 for Amina alone (the group also has Léa), opened at 08:50."""
    sid = plan(app, client, tenant_a, participant_ids=[amina.id])
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    return sid


def sheet(client, headers, session_id):  # noqa: ANN001, ANN201
    answer = client.get(f"/api/v1/sessions/{session_id}/attendance", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_session_for_one_trainee_names_her_and_is_chained_with_its_plan(
    app, client, tenant_a, lea, amina, subgroup
):
    shown = client.get(f"/api/v1/sessions/{subgroup}", headers=bearer(app, tenant_a.admin))
    assert shown.get_json()["participant_ids"] == [amina.id]
    assert shown.get_json()["lead_trainer_id"] == tenant_a.trainer.id  # the group's only one
    (planned,) = [r for r in rows(subgroup) if r["kind"] == "planned"]
    assert planned["facts"]["participants"] == [amina.id]
    assert planned["facts"]["lead_trainer_id"] == tenant_a.trainer.id


def test_only_participants_sign(app, client, tenant_a, trainer_h, lea, amina, subgroup):
    token = qr_token(client, trainer_h, subgroup)
    api_error(sign_in(client, lea, token), 403, "not_enrolled")
    assert sign_in(client, amina, token).status_code == 201
    assert count_rows(subgroup, kind="sign_in", signer_id=lea.id) == 0
    codes = client.post(
        f"/api/v1/sessions/{subgroup}/sign-in-codes",
        json={"trainee_ids": [lea.id]},
        headers=trainer_h,
    )
    api_error(codes, 404, "not_enrolled")


def test_a_close_marks_only_participants_absent_and_the_sheet_lists_them(
    app, client, tenant_a, trainer_h, lea, amina, subgroup, clock
):
    """No false absences: Léa was not expected at Amina's individual tutorat."""
    clock.set(11, 0)
    assert client.post(f"/api/v1/sessions/{subgroup}/close", headers=trainer_h).status_code == 200
    absent = [r["signer_id"] for r in rows(subgroup) if r["kind"] == "absence"]
    assert absent == [amina.id]
    items = sheet(client, bearer(app, tenant_a.admin), subgroup)["items"]
    assert [i["trainee_id"] for i in items] == [amina.id]


def test_a_trainee_sees_only_the_sessions_she_takes_part_in(app, client, lea, amina, subgroup):
    mine = client.get(f"/api/v1/sessions/{subgroup}", headers=amina.headers)
    assert mine.status_code == 200
    assert client.get(f"/api/v1/sessions/{subgroup}", headers=lea.headers).status_code == 404


def test_two_sub_groups_in_parallel_with_two_trainers(app, client, tenant_a, clock, lea, amina):
    """The CCTP's sub-group tutorat: the group split in two at the same hour, each half with
    its own trainer; nobody is expected twice."""
    second = make_user(Role.TRAINER, tenant_a.org)
    admin_h = bearer(app, tenant_a.admin)
    group = client.patch(
        f"/api/v1/groups/{tenant_a.group_id}",
        json={"trainer_ids": [tenant_a.trainer.id, second.id]},
        headers=admin_h,
    )
    assert group.status_code == 200, group.get_json()
    plan(app, client, tenant_a, participant_ids=[amina.id], lead_trainer_id=tenant_a.trainer.id)
    plan(app, client, tenant_a, participant_ids=[lea.id], lead_trainer_id=second.id)


@pytest.mark.parametrize(
    ("second", "code"),
    [
        ({"participant_ids": "amina"}, "participant_overlap"),
        ({}, "participant_overlap"),  # the whole group: Amina is in it
        ({"participant_ids": "lea"}, "trainer_overlap"),  # the same lead trainer
    ],
    ids=["the same trainee", "the whole group", "the same trainer"],
)
def test_overlapping_sessions_are_refused(app, client, tenant_a, lea, amina, second, code):
    admin_h = bearer(app, tenant_a.admin)
    plan(app, client, tenant_a, participant_ids=[amina.id])
    people = {"amina": [amina.id], "lea": [lea.id]}
    body = {
        "kind": "tutorat",
        "title": "En même temps",
        "starts_at": paris(DAY, 11, 0),
        "ends_at": paris(DAY, 13, 0),
    }
    if "participant_ids" in second:
        body["participant_ids"] = people[second["participant_ids"]]
    answer = client.post(f"/api/v1/groups/{tenant_a.group_id}/sessions", json=body, headers=admin_h)
    api_error(answer, 409, code)
    body["starts_at"] = paris(DAY, 12, 0)  # right after: no overlap
    assert (
        client.post(
            f"/api/v1/groups/{tenant_a.group_id}/sessions", json=body, headers=admin_h
        ).status_code
        == 201
    )


def test_participants_outside_the_group_are_refused(app, client, tenant_a, tenant_b):
    body = {
        "kind": "tutorat",
        "title": "Individuel",
        "starts_at": paris(DAY, 14, 0),
        "ends_at": paris(DAY, 15, 0),
        "participant_ids": [tenant_b.trainee.id],
    }
    answer = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/sessions",
        json=body,
        headers=bearer(app, tenant_a.admin),
    )
    api_error(answer, 404, "not_enrolled")


def test_a_change_of_participants_is_chained(app, client, tenant_a, lea, amina):
    sid = plan(app, client, tenant_a, participant_ids=[amina.id])
    answer = client.patch(
        f"/api/v1/sessions/{sid}",
        json={"participant_ids": [amina.id, lea.id]},
        headers=bearer(app, tenant_a.admin),
    )
    assert answer.status_code == 200, answer.get_json()
    assert sorted(answer.get_json()["participant_ids"]) == sorted([amina.id, lea.id])
    kinds = [(r["kind"], (r["facts"] or {}).get("participants")) for r in rows(sid)]
    assert kinds == [("planned", [amina.id]), ("edited", sorted([amina.id, lea.id]))]
    whole = client.patch(
        f"/api/v1/sessions/{sid}",
        json={"participant_ids": None},
        headers=bearer(app, tenant_a.admin),
    )
    assert whole.get_json()["participant_ids"] is None
    assert rows(sid)[-1]["facts"]["participants"] is None
