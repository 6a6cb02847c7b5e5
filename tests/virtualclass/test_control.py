"""Remote control in the class (R16 "application sharing and remote control", as far as a
browser goes): the trainer asks to guide a trainee's shared screen, the trainee consents or
refuses, either ends it, and only while it is granted is the trainer's pointer relayed to the
room. Every step is authorised in its handler, shown to the room, and stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from tests.attendance.support import Learner, enrol
from tests.virtualclass.conftest import NS, ask, connect, joined, received
from tests.virtualclass.test_events import namespace
from virtualclass.models import ClassConnection, RemoteControl


@dataclass
class Room:
    """The session's class with its trainer and Amina joined."""

    session_id: str
    trainer: Any
    trainee: Any

    def call(self, sock: Any, event: str, **body: Any) -> dict[str, Any]:
        return ask(sock, event, {"session_id": self.session_id, **body})

    def request(self, target: str) -> dict[str, Any]:
        answer = self.call(self.trainer, "remote_request", target=target)
        assert answer["ok"] is True, answer
        return answer

    def answer(self, sock: Any, control_id: str, accept: bool = True) -> dict[str, Any]:
        return self.call(sock, "remote_answer", id=control_id, accept=accept)

    def grant(self, target: str) -> dict[str, Any]:
        answer = self.answer(self.trainee, self.request(target)["id"])
        assert answer["ok"] is True, answer
        return answer

    def point(self, sock: Any, x: float = 0.5, y: float = 0.5, **more: Any) -> dict[str, Any]:
        return self.call(sock, "remote_pointer", x=x, y=y, **more)


@pytest.fixture
def room(app, client, session_id, trainer_h, amina) -> Room:  # noqa: ANN001
    trainer = joined(app, client, trainer_h, session_id)
    return Room(session_id, trainer, joined(app, client, amina.headers, session_id))


@pytest.fixture
def lea(app, client, tenant_a, session_id) -> tuple[Learner, Any]:  # noqa: ANN001
    """Léa, another trainee, joined too."""
    learner = enrol(app, client, tenant_a, "Léa")
    return learner, joined(app, client, learner.headers, session_id)


def test_the_trainer_asks_the_trainee_consents_and_the_room_sees_the_pointer_r16(
    tenant_a, amina, room, lea
):
    trainer, trainee, (_, other) = room.trainer, room.trainee, lea
    trainer.get_received(NS)
    trainee.get_received(NS)
    asked = room.request(amina.id)
    assert asked["state"] == "requested"
    assert asked["owner"] == {"id": amina.id, "name": amina.trainee.full_name}
    assert asked["controller"]["name"] == tenant_a.trainer.full_name
    for sock in (trainer, trainee, other):  # the room is told
        assert [n["state"] for n in received(sock, "remote")] == ["requested"]
    assert room.answer(trainee, asked["id"])["state"] == "granted"
    assert [n["state"] for n in received(other, "remote")] == ["granted"]

    assert room.point(trainer, 0.25) == {"ok": True, "x": 0.25, "y": 0.5, "click": False}
    room.point(trainer, 0.3, click=True)
    for sock in (trainee, other):
        points = received(sock, "remote_pointer")
        assert [(p["owner"], p["x"], p["y"], p["click"]) for p in points] == [
            (amina.id, 0.25, 0.5, False),
            (amina.id, 0.3, 0.5, True),
        ]
    assert received(trainer, "remote_pointer") == []  # the trainer draws their own
    # A position's number is relayed: screens keep the latest when two arrive out of order.
    assert room.point(trainer, 0.4, n=1733300000123)["n"] == 1733300000123
    ((numbered,),) = [received(sock, "remote_pointer") for sock in (trainee,)]
    assert (numbered["x"], numbered["n"]) == (0.4, 1733300000123)

    row = db.session.scalar(select(RemoteControl).where(RemoteControl.owner_id == amina.id))
    assert row.granted is True
    assert row.answered_at is not None  # the consent is stored with its time
    assert row.ended_at is None


def test_the_trainee_takes_the_screen_back_and_the_pointer_is_refused_r16(amina, room):
    room.grant(amina.id)
    back = room.call(room.trainee, "remote_end")
    assert (back["state"], back["by"]) == ("ended", amina.id)
    assert received(room.trainer, "remote")[-1]["state"] == "ended"
    refused = room.point(room.trainer, 0.1, 0.1)
    assert (refused["error"]["code"], refused["error"]["rule"]) == (
        "remote_control_not_granted",
        "R16",
    )
    assert received(room.trainee, "remote_pointer") == []


def test_a_refusal_grants_nothing_r16(amina, room):
    asked = room.request(amina.id)
    assert room.answer(room.trainee, asked["id"], accept=False)["state"] == "refused"
    assert received(room.trainer, "remote")[-1]["state"] == "refused"
    refused = room.point(room.trainer)
    assert refused["error"]["code"] == "remote_control_not_granted"
    again = room.answer(room.trainee, asked["id"])
    assert again["error"]["code"] == "remote_control_answered"


def test_only_the_trainer_asks_and_only_the_trainee_asked_consents_r16(amina, room, lea):
    learner, other = lea
    by_trainee = room.call(room.trainee, "remote_request", target=learner.id)
    assert by_trainee["error"]["code"] == "trainer_only"
    asked = room.request(amina.id)
    for sock in (other, room.trainer):  # nobody consents for her, not even the trainer
        assert room.answer(sock, asked["id"])["error"]["code"] == "remote_control_not_yours"
    assert room.point(other)["error"]["code"] == "remote_control_not_granted"
    room.answer(room.trainee, asked["id"])
    stop = room.call(other, "remote_end")
    assert stop["error"]["code"] == "remote_control_not_yours"
    busy = room.call(room.trainer, "remote_request", target=learner.id)
    assert (busy["error"]["code"], busy["error"]["rule"]) == ("remote_control_busy", "R16")


def test_a_trainee_not_in_the_class_cannot_be_asked_and_bad_input_changes_nothing(
    app, client, tenant_a, amina, room
):
    absent = enrol(app, client, tenant_a, "Léa")  # enrolled, never connected
    for target in (absent.id, "nobody", ""):
        answer = room.call(room.trainer, "remote_request", target=target)
        assert answer["error"]["code"] == "not_in_class"
    unknown = room.answer(room.trainer, "nope")
    assert unknown["error"]["code"] == "remote_control_not_found"
    assert room.call(room.trainer, "remote_end")["error"]["code"] == "remote_control_none"
    room.grant(amina.id)
    for bad in ({"x": 2, "y": 0.5}, {"x": "0.5", "y": 0.5}, {"x": True, "y": 0}, {"x": 0.5}):
        answer = room.call(room.trainer, "remote_pointer", **bad)
        assert answer["error"]["code"] == "invalid_pointer"
        assert "entre 0 et 1" in answer["error"]["message"]
    for bad_n in ("3", -1, True, 2**60):
        answer = room.call(room.trainer, "remote_pointer", x=0.5, y=0.5, n=bad_n)
        assert answer["error"]["code"] == "invalid_pointer"
        assert "Numéro de position" in answer["error"]["message"]
    assert received(room.trainee, "remote_pointer") == []
    assert db.session.scalar(select(RemoteControl.granted)) is True  # still granted


def test_the_guidance_ends_when_its_trainee_leaves_the_class_r16(amina, room):
    room.grant(amina.id)
    room.trainer.get_received(NS)
    room.trainee.disconnect(NS)
    ended = [n for n in received(room.trainer, "remote") if n["state"] == "ended"]
    assert [(n["owner"]["id"], n["by"]) for n in ended] == [(amina.id, amina.id)]
    refused = room.point(room.trainer)
    assert refused["error"]["code"] == "remote_control_not_granted"


def test_the_guidance_ends_when_its_trainees_process_died_r16(amina, room):
    """Her connection was another process's, which died: no disconnection was handled. The
    next sweep closes it and ends the guidance, so the class is not left `remote_control_busy`
    with a trainee who is gone."""
    room.grant(amina.id)
    row = db.session.scalar(select(ClassConnection).where(ClassConnection.person_id == amina.id))
    handler = namespace()
    del handler.callers[row.sid]
    row.joined_at -= timedelta(hours=1)
    row.seen_at -= timedelta(hours=1)
    db.session.commit()
    room.trainer.get_received(NS)
    handler.sweep()
    ended = received(room.trainer, "remote")
    assert [(n["state"], n["owner"]["id"], n["by"]) for n in ended] == [
        ("ended", amina.id, amina.id)
    ]
    assert room.point(room.trainer)["error"]["code"] == "remote_control_not_granted"


def test_a_new_request_replaces_one_still_unanswered(amina, room, lea):
    first = room.request(amina.id)
    room.request(lea[0].id)
    late = room.answer(room.trainee, first["id"])
    assert late["error"]["code"] == "remote_control_answered"


@pytest.mark.parametrize(
    "event", ["remote_request", "remote_answer", "remote_end", "remote_pointer"]
)
def test_every_remote_event_before_joining_is_refused(app, client, session_id, trainer_h, event):
    sock = connect(app, client, trainer_h)
    answer = ask(sock, event, {"session_id": session_id, "x": 0.5, "y": 0.5})
    assert answer["error"]["code"] == "not_joined"


def test_a_pointer_faster_than_40_a_second_is_refused(amina, room):
    room.grant(amina.id)
    answers = [room.point(room.trainer, 0.5, n / 100) for n in range(90)]
    codes = {a["error"]["code"] for a in answers if not a["ok"]}
    assert codes == {"too_many_attempts"}
    assert len(received(room.trainee, "remote_pointer")) == sum(a["ok"] for a in answers)
