"""Remote control in the class (R16 "application sharing and remote control", as far as a
browser goes): the trainer asks to guide a trainee's shared screen, the trainee consents or
refuses, either ends it, and only while it is granted is the trainer's pointer relayed to the
room. Every step is authorised in its handler, shown to the room, and stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from tests.attendance.support import enrol
from tests.virtualclass.conftest import NS, ask, connect, joined, received
from virtualclass.models import RemoteControl


def requested(trainer, trainee, session_id: str, target: str) -> dict:  # noqa: ANN001
    answer = ask(trainer, "remote_request", {"session_id": session_id, "target": target})
    assert answer["ok"] is True, answer
    return answer


def granted(trainer, trainee, session_id: str, target: str) -> dict:  # noqa: ANN001
    asked = requested(trainer, trainee, session_id, target)
    answer = ask(
        trainee, "remote_answer", {"session_id": session_id, "id": asked["id"], "accept": True}
    )
    assert answer["ok"] is True, answer
    return answer


def test_the_trainer_asks_the_trainee_consents_and_the_room_sees_the_pointer_r16(
    app, client, tenant_a, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    lea = enrol(app, client, tenant_a, "Léa")
    other = joined(app, client, lea.headers, session_id)
    trainer.get_received(NS)
    trainee.get_received(NS)
    asked = requested(trainer, trainee, session_id, amina.id)
    assert asked["state"] == "requested"
    assert asked["owner"] == {"id": amina.id, "name": amina.trainee.full_name}
    assert asked["controller"]["name"] == tenant_a.trainer.full_name
    for sock in (trainer, trainee, other):  # the room is told
        assert [n["state"] for n in received(sock, "remote")] == ["requested"]
    consent = ask(
        trainee, "remote_answer", {"session_id": session_id, "id": asked["id"], "accept": True}
    )
    assert consent["state"] == "granted"
    assert [n["state"] for n in received(other, "remote")] == ["granted"]

    moved = ask(trainer, "remote_pointer", {"session_id": session_id, "x": 0.25, "y": 0.5})
    assert moved == {"ok": True, "x": 0.25, "y": 0.5, "click": False}
    ask(trainer, "remote_pointer", {"session_id": session_id, "x": 0.3, "y": 0.5, "click": True})
    for sock in (trainee, other):
        points = received(sock, "remote_pointer")
        assert [(p["owner"], p["x"], p["y"], p["click"]) for p in points] == [
            (amina.id, 0.25, 0.5, False),
            (amina.id, 0.3, 0.5, True),
        ]
    assert received(trainer, "remote_pointer") == []  # the trainer draws their own

    row = db.session.scalar(select(RemoteControl).where(RemoteControl.owner_id == amina.id))
    assert row.granted is True
    assert row.answered_at is not None  # the consent is stored with its time
    assert row.ended_at is None


def test_the_trainee_takes_the_screen_back_and_the_pointer_is_refused_r16(
    app, client, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    granted(trainer, trainee, session_id, amina.id)
    back = ask(trainee, "remote_end", {"session_id": session_id})
    assert (back["state"], back["by"]) == ("ended", amina.id)
    assert received(trainer, "remote")[-1]["state"] == "ended"
    refused = ask(trainer, "remote_pointer", {"session_id": session_id, "x": 0.1, "y": 0.1})
    assert (refused["error"]["code"], refused["error"]["rule"]) == (
        "remote_control_not_granted",
        "R16",
    )
    assert received(trainee, "remote_pointer") == []


def test_a_refusal_grants_nothing_r16(app, client, session_id, trainer_h, amina):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    asked = requested(trainer, trainee, session_id, amina.id)
    no = ask(
        trainee, "remote_answer", {"session_id": session_id, "id": asked["id"], "accept": False}
    )
    assert no["state"] == "refused"
    assert received(trainer, "remote")[-1]["state"] == "refused"
    refused = ask(trainer, "remote_pointer", {"session_id": session_id, "x": 0.5, "y": 0.5})
    assert refused["error"]["code"] == "remote_control_not_granted"
    again = ask(
        trainee, "remote_answer", {"session_id": session_id, "id": asked["id"], "accept": True}
    )
    assert again["error"]["code"] == "remote_control_answered"


def test_only_the_trainer_asks_and_only_the_trainee_asked_consents_r16(
    app, client, tenant_a, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    lea = enrol(app, client, tenant_a, "Léa")
    other = joined(app, client, lea.headers, session_id)
    by_trainee = ask(trainee, "remote_request", {"session_id": session_id, "target": lea.id})
    assert by_trainee["error"]["code"] == "trainer_only"
    asked = requested(trainer, trainee, session_id, amina.id)
    for sock in (other, trainer):  # nobody consents for her, not even the trainer
        answer = ask(
            sock, "remote_answer", {"session_id": session_id, "id": asked["id"], "accept": True}
        )
        assert answer["error"]["code"] == "remote_control_not_yours"
    by_other = ask(other, "remote_pointer", {"session_id": session_id, "x": 0.5, "y": 0.5})
    assert by_other["error"]["code"] == "remote_control_not_granted"
    ask(trainee, "remote_answer", {"session_id": session_id, "id": asked["id"], "accept": True})
    stop = ask(other, "remote_end", {"session_id": session_id})
    assert stop["error"]["code"] == "remote_control_not_yours"
    busy = ask(trainer, "remote_request", {"session_id": session_id, "target": lea.id})
    assert (busy["error"]["code"], busy["error"]["rule"]) == ("remote_control_busy", "R16")


def test_a_trainee_not_in_the_class_cannot_be_asked_and_bad_input_changes_nothing(
    app, client, tenant_a, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    lea = enrol(app, client, tenant_a, "Léa")  # enrolled, never connected
    for target in (lea.id, "nobody", ""):
        answer = ask(trainer, "remote_request", {"session_id": session_id, "target": target})
        assert answer["error"]["code"] == "not_in_class"
    unknown = ask(trainer, "remote_answer", {"session_id": session_id, "id": "nope"})
    assert unknown["error"]["code"] == "remote_control_not_found"
    none = ask(trainer, "remote_end", {"session_id": session_id})
    assert none["error"]["code"] == "remote_control_none"
    trainee = joined(app, client, amina.headers, session_id)
    granted(trainer, trainee, session_id, amina.id)
    for bad in ({"x": 2, "y": 0.5}, {"x": "0.5", "y": 0.5}, {"x": True, "y": 0}, {"x": 0.5}):
        answer = ask(trainer, "remote_pointer", {"session_id": session_id, **bad})
        assert answer["error"]["code"] == "invalid_pointer"
        assert "entre 0 et 1" in answer["error"]["message"]
    assert received(trainee, "remote_pointer") == []
    assert db.session.scalar(select(RemoteControl.granted)) is True  # still granted


def test_the_guidance_ends_when_its_trainee_leaves_the_class_r16(
    app, client, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    granted(trainer, trainee, session_id, amina.id)
    trainer.get_received(NS)
    trainee.disconnect(NS)
    ended = [n for n in received(trainer, "remote") if n["state"] == "ended"]
    assert [(n["owner"]["id"], n["by"]) for n in ended] == [(amina.id, amina.id)]
    refused = ask(trainer, "remote_pointer", {"session_id": session_id, "x": 0.5, "y": 0.5})
    assert refused["error"]["code"] == "remote_control_not_granted"


def test_a_new_request_replaces_one_still_unanswered(
    app, client, tenant_a, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    lea = enrol(app, client, tenant_a, "Léa")
    joined(app, client, lea.headers, session_id)
    first = requested(trainer, trainee, session_id, amina.id)
    requested(trainer, trainee, session_id, lea.id)
    late = ask(
        trainee, "remote_answer", {"session_id": session_id, "id": first["id"], "accept": True}
    )
    assert late["error"]["code"] == "remote_control_answered"


@pytest.mark.parametrize(
    "event", ["remote_request", "remote_answer", "remote_end", "remote_pointer"]
)
def test_every_remote_event_before_joining_is_refused(app, client, session_id, trainer_h, event):
    sock = connect(app, client, trainer_h)
    answer = ask(sock, event, {"session_id": session_id, "x": 0.5, "y": 0.5})
    assert answer["error"]["code"] == "not_joined"


def test_a_pointer_faster_than_40_a_second_is_refused(app, client, session_id, trainer_h, amina):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    granted(trainer, trainee, session_id, amina.id)
    answers = [
        ask(trainer, "remote_pointer", {"session_id": session_id, "x": 0.5, "y": n / 100})
        for n in range(90)
    ]
    codes = {a["error"]["code"] for a in answers if not a["ok"]}
    assert codes == {"too_many_attempts"}
    assert len(received(trainee, "remote_pointer")) == sum(a["ok"] for a in answers)
