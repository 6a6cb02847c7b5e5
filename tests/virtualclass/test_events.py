"""The class's Socket.IO namespace `/class` (API.md "Virtual class", R16): who may connect and
join, presence stored as proof, presence checks signed through the émargement's sign-in,
chat, hands, board, WebRTC signals, the trainer's controls, and every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from attendance.models import TrainingSession
from core.extensions import db, socketio
from core.models import Invitation, Role
from tests.attendance.support import enrol, open_session, plan, qr_token, rows, sign_in
from tests.conftest import bearer, make_user
from tests.virtualclass.conftest import NS, ask, connect, joined, received
from virtualclass import services
from virtualclass.events import ClassNamespace
from virtualclass.models import ClassConnection


def namespace() -> ClassNamespace:
    (handler,) = [h for h in socketio.namespace_handlers if h.namespace == NS]
    return handler


# --- connecting and joining (point 2 of issue 11) ------------------------------------------


def test_a_connection_without_auth_is_refused(app, client):
    sock = connect(app, client)
    assert not sock.is_connected(NS)


def test_a_forged_token_is_refused(app, client):
    sock = socketio.test_client(
        app, namespace=NS, auth={"token": "forged"}, flask_test_client=client
    )
    assert not sock.is_connected(NS)


@pytest.mark.parametrize("role", [Role.ORG_ADMIN, Role.FINANCE, Role.REGION])
def test_staff_who_do_not_teach_cannot_connect(app, client, tenant_a, role):
    user = make_user(role, tenant_a.org if role != Role.REGION else None)
    assert not connect(app, client, bearer(app, user)).is_connected(NS)


def test_trainer_and_trainee_join_and_both_see_who_is_connected(
    app, client, tenant_a, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = connect(app, client, amina.headers)
    answer = ask(trainee, "join", {"session_id": session_id})
    assert answer["ok"] is True
    assert answer["you"] == {"id": amina.id, "name": amina.trainee.full_name, "kind": "trainee"}
    assert [p["kind"] for p in answer["presence"]] == ["trainer", "trainee"]
    names = [tenant_a.trainer.full_name, amina.trainee.full_name]
    assert [p["name"] for p in answer["presence"]] == names
    (presence,) = received(trainer, "presence")
    assert {p["id"] for p in presence["people"]} == {tenant_a.trainer.id, amina.id}
    assert presence["people"] == answer["presence"]  # the room and the joiner see one list
    again = ask(trainee, "join", {"session_id": session_id})  # joined already: same answer
    assert again["presence"] == answer["presence"]
    assert not received(trainer, "presence")
    # Media: no Janus configured in the tests, the page is told so.
    assert answer["media"]["available"] is False
    assert answer["media"]["reason"] == "not_configured"


def test_each_presence_list_carries_a_version_that_grows_with_every_change(
    app, client, tenant_a, session_id, trainer_h, amina
):
    """Two joins at once each tell the room a list, and a page may receive the two in either
    order (two threads, two processes): the version says which was read last (issue 11,
    point 1: live presence; the 16-page browser test showed 15 on one page under load)."""
    trainer = joined(app, client, trainer_h, session_id)
    alone = services.presence(session_id)
    assert [p["id"] for p in alone.people] == [tenant_a.trainer.id]
    trainee = connect(app, client, amina.headers)
    answer = ask(trainee, "join", {"session_id": session_id})
    (told,) = received(trainer, "presence")
    assert told["version"] == answer["presence_version"] > alone.version
    assert len(told["people"]) == 2
    assert ask(trainee, "leave", {"session_id": session_id})["session_id"] == session_id
    (after,) = received(trainer, "presence")
    assert [p["id"] for p in after["people"]] == [tenant_a.trainer.id]
    assert after["version"] > told["version"]  # the same people as `alone`, a later list
    trainer.disconnect(namespace=NS)
    empty = services.presence(session_id)
    assert (empty.people, empty.version > after["version"]) == ([], True)


def test_join_a_session_not_open_is_refused(app, client, tenant_a, clock, trainer_h):
    sid = plan(app, client, tenant_a)
    answer = ask(connect(app, client, trainer_h), "join", {"session_id": sid})
    assert answer["ok"] is False
    assert answer["error"]["code"] == "session_not_open"
    assert db.session.scalar(select(ClassConnection.id)) is None


def test_join_an_autoformation_is_refused_r16(app, client, tenant_a, clock, trainer_h):
    sid = plan(app, client, tenant_a, kind="autoformation")
    open_session(client, trainer_h, sid)
    answer = ask(connect(app, client, trainer_h), "join", {"session_id": sid})
    assert (answer["error"]["code"], answer["error"]["rule"]) == ("not_synchronous", "R16")


def test_another_tenants_session_is_unknown_404(app, client, tenant_b, session_id):
    other_trainer = connect(app, client, bearer(app, tenant_b.trainer))
    answer = ask(other_trainer, "join", {"session_id": session_id})
    assert answer["error"]["code"] == "not_found"
    other_trainee = connect(app, client, bearer(app, tenant_b.trainee, dev=tenant_b.invitation_id))
    assert ask(other_trainee, "join", {"session_id": session_id})["error"]["code"] == "not_found"


def test_a_trainee_not_listed_in_a_sub_group_session_cannot_join(
    app, client, tenant_a, clock, trainer_h, amina
):
    lea = enrol(app, client, tenant_a, "Léa")
    sid = plan(app, client, tenant_a, start=(14, 0), end=(16, 0), participant_ids=[lea.id])
    clock.set(13, 50)
    open_session(client, trainer_h, sid)
    answer = ask(connect(app, client, amina.headers), "join", {"session_id": sid})
    assert answer["error"]["code"] in ("not_found", "not_a_participant")
    assert ask(connect(app, client, lea.headers), "join", {"session_id": sid})["ok"] is True


@pytest.mark.parametrize(
    "event", ["chat", "hand", "presence_check", "presence_ack", "whiteboard", "signal", "control"]
)
def test_every_event_before_joining_is_refused(app, client, session_id, trainer_h, event):
    answer = ask(connect(app, client, trainer_h), event, {"session_id": session_id, "text": "x"})
    assert (answer["ok"], answer["error"]["code"]) == (False, "not_joined")


def test_a_message_over_64_kb_is_refused_and_not_delivered(
    app, client, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    answer = ask(trainee, "chat", {"session_id": session_id, "text": "a" * (64 * 1024 + 1)})
    assert (answer["error"]["code"], answer["error"]["rule"]) == ("message_too_large", "R16")
    assert received(trainer, "chat") == []


# --- presence as proof (point 3) ----------------------------------------------------------


def test_connections_are_stored_with_their_times_and_give_connected_minutes(
    app, client, tenant_a, session_id, trainer_h, amina, clock
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    clock.advance(minutes=30)
    trainee.disconnect(NS)
    presence = received(trainer, "presence")[-1]
    assert [p["id"] for p in presence["people"]] == [tenant_a.trainer.id]
    row = db.session.scalar(select(ClassConnection).where(ClassConnection.person_id == amina.id))
    assert row.left_at - row.joined_at == timedelta(minutes=30)
    session = db.session.get(TrainingSession, session_id)
    (line,) = services.class_sheet(session, clock.now).lines
    assert (line.trainee_id, line.minutes) == (amina.id, 30)


def test_a_timely_answer_to_a_presence_check_signs_in_once_with_virtual_class(
    app, client, session_id, trainer_h, amina, clock
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    launched = ask(trainer, "presence_check", {"session_id": session_id})
    assert launched["ok"] is True
    (notice,) = received(trainee, "presence_check")
    assert notice["check_id"] == launched["check_id"]
    clock.advance(seconds=30)
    answer = ask(
        trainee, "presence_ack", {"session_id": session_id, "check_id": notice["check_id"]}
    )
    assert answer["ok"] is True
    assert answer["method"] == "virtual_class"
    assert answer["already_signed"] is False
    again = ask(trainee, "presence_ack", {"session_id": session_id, "check_id": notice["check_id"]})
    assert again["signature_id"] == answer["signature_id"]
    assert again["already_signed"] is True
    signed = [r for r in rows(session_id) if r["signer_id"] == amina.id]
    assert [(r["kind"], r["method"], r["half_day"]) for r in signed] == [
        ("sign_in", "virtual_class", "am")
    ]
    assert received(trainer, "presence_ack")[0]["id"] == amina.id
    # The attendance sheet (and so the certificates, which count the chained signatures)
    # counts her present from that sign-in.
    sheet = client.get(f"/api/v1/sessions/{session_id}/attendance", headers=trainer_h)
    (item,) = sheet.get_json()["items"]
    assert (item["status"], item["method"]) == ("present", "virtual_class")
    # The same half-day by QR answers the same record: exactly once, whatever the method.
    scan = sign_in(client, amina, qr_token(client, trainer_h, session_id))
    assert scan.status_code == 200
    assert scan.get_json()["id"] == answer["signature_id"]


def test_a_late_answer_is_refused_r16_and_signs_nothing(
    app, client, session_id, trainer_h, amina, clock
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    check_id = ask(trainer, "presence_check", {"session_id": session_id})["check_id"]
    clock.advance(seconds=app.config["CLASS_CHECK_WINDOW_S"] + 1)
    answer = ask(trainee, "presence_ack", {"session_id": session_id, "check_id": check_id})
    assert (answer["error"]["code"], answer["error"]["rule"]) == ("presence_check_closed", "R16")
    assert [r for r in rows(session_id) if r["signer_id"] == amina.id] == []


def test_only_the_trainer_launches_checks_and_only_trainees_answer(
    app, client, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    refused = ask(trainee, "presence_check", {"session_id": session_id})
    assert refused["error"]["code"] == "trainer_only"
    check_id = ask(trainer, "presence_check", {"session_id": session_id})["check_id"]
    own = ask(trainer, "presence_ack", {"session_id": session_id, "check_id": check_id})
    assert own["error"]["code"] == "trainee_required"
    unknown = ask(trainee, "presence_ack", {"session_id": session_id, "check_id": "nope"})
    assert unknown["error"]["code"] == "presence_check_not_found"


def test_a_home_qr_sign_in_while_not_in_the_class_is_recorded_but_flagged(
    app, client, tenant_a, session_id, trainer_h, amina, clock
):
    joined(app, client, trainer_h, session_id)  # the tutorat is held in the class
    lea = enrol(app, client, tenant_a, "Léa")
    joined(app, client, lea.headers, session_id)
    token = qr_token(client, trainer_h, session_id)
    assert sign_in(client, amina, token).status_code == 201  # forwarded QR: not in the class
    assert sign_in(client, lea, token).status_code == 201  # in the class: fine
    sheet = services.class_sheet(db.session.get(TrainingSession, session_id), clock.now)
    flagged = {line.trainee_id: line.flagged for line in sheet.lines}
    assert flagged[amina.id] == [clock.now]
    assert flagged[lea.id] == []


# --- revoked accounts (point 2) -----------------------------------------------------------


def test_a_revoked_device_is_dropped_by_the_sweeper(app, client, tenant_a, session_id, amina):
    trainee = joined(app, client, amina.headers, session_id)
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == tenant_a.invitation_id)
        .values(revoked_at=db.func.now())
    )
    db.session.commit()
    namespace().sweep()
    assert not trainee.is_connected(NS)
    row = db.session.scalar(select(ClassConnection).where(ClassConnection.person_id == amina.id))
    db.session.refresh(row)
    assert row.left_at is not None


def test_the_room_is_told_when_the_sweeper_closes_a_dead_process_connections(
    app, client, tenant_a, session_id, trainer_h, amina
):
    """A process that died leaves its people listed; the next sweep of a live process closes
    their connections and tells the rooms who is left (issue 11, points 1 and 6)."""
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    handler = namespace()
    row = db.session.scalar(select(ClassConnection).where(ClassConnection.person_id == amina.id))
    del handler.callers[row.sid]  # her connection was another process's, now dead
    row.joined_at -= timedelta(hours=1)
    row.seen_at -= timedelta(hours=1)  # its last sign of life, an hour ago
    db.session.commit()
    received(trainer, "presence")
    handler.sweep()
    (told,) = received(trainer, "presence")
    assert [p["id"] for p in told["people"]] == [tenant_a.trainer.id]
    db.session.refresh(row)
    assert row.left_at == row.seen_at  # connected until its last sign of life
    handler.sweep()  # nothing more to close: the room is not told again
    assert not received(trainer, "presence")
    assert trainee.is_connected(NS)  # the test's socket itself was not dropped


def test_a_revoked_device_is_refused_at_its_next_event(
    app, client, tenant_a, session_id, amina, monkeypatch
):
    trainee = joined(app, client, amina.headers, session_id)
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == tenant_a.invitation_id)
        .values(revoked_at=db.func.now())
    )
    db.session.commit()
    monkeypatch.setitem(app.config, "CLASS_REVERIFY_S", 0)
    answer = ask(trainee, "chat", {"session_id": session_id, "text": "Bonjour"})
    assert answer["error"]["code"] == "revoked"


# --- chat, hands, board, signals, controls (points 1, 2, 5) -------------------------------


def test_chat_reaches_the_room_with_the_senders_name(app, client, session_id, trainer_h, amina):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    assert ask(trainee, "chat", {"session_id": session_id, "text": " Bonjour ! "})["ok"] is True
    (message,) = received(trainer, "chat")
    assert (message["name"], message["text"]) == (amina.trainee.full_name, "Bonjour !")
    assert ask(trainee, "chat", {"session_id": session_id, "text": "  "})["error"]["code"] == (
        "empty_message"
    )


def test_chat_is_rate_limited(app, client, session_id, amina):
    trainee = joined(app, client, amina.headers, session_id)
    answers = [ask(trainee, "chat", {"session_id": session_id, "text": f"m{i}"}) for i in range(21)]
    assert all(a["ok"] for a in answers[:20])
    assert answers[20]["error"]["code"] == "too_many_attempts"


def test_a_raised_hand_is_announced(app, client, session_id, trainer_h, amina):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    assert ask(trainee, "hand", {"session_id": session_id, "raised": True})["ok"] is True
    (hand,) = received(trainer, "hand")
    assert (hand["id"], hand["raised"]) == (amina.id, True)


def test_strokes_are_stored_and_a_late_joiner_sees_the_board(
    app, client, tenant_a, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    stroke = {"tool": "pen", "colour": "#a3183a", "width": 3, "points": [[0.1, 0.2], [0.3, 0.4]]}
    assert ask(trainer, "whiteboard", {"session_id": session_id, "stroke": stroke})["ok"] is True
    assert received(trainee, "whiteboard")[0]["stroke"] == stroke
    bad = ask(trainee, "whiteboard", {"session_id": session_id, "stroke": {"tool": "pen"}})
    assert bad["error"]["code"] == "invalid_stroke"
    cleared = ask(trainee, "whiteboard", {"session_id": session_id, "stroke": {"tool": "clear"}})
    assert cleared["error"]["code"] == "trainer_only"
    lea = enrol(app, client, tenant_a, "Léa")
    late = ask(connect(app, client, lea.headers), "join", {"session_id": session_id})
    assert late["board"] == [stroke]


def test_signals_reach_one_participant_of_the_same_class_only(
    app, client, session_id, trainer_h, amina
):
    trainer = connect(app, client, trainer_h)
    trainer_sid = ask(trainer, "join", {"session_id": session_id})["sid"]
    trainee = joined(app, client, amina.headers, session_id)
    offer = {"type": "offer", "sdp": "v=0"}
    sent = ask(trainee, "signal", {"session_id": session_id, "to": trainer_sid, "data": offer})
    assert sent["ok"] is True
    assert [s["data"] for s in received(trainer, "signal")] == [offer]
    stray = ask(trainee, "signal", {"session_id": session_id, "to": "someone-else", "data": offer})
    assert stray["error"]["code"] == "not_in_class"


def test_the_trainer_mutes_gives_the_floor_and_ends_the_class(
    app, client, session_id, trainer_h, amina
):
    trainer = joined(app, client, trainer_h, session_id)
    trainee = joined(app, client, amina.headers, session_id)
    refused = ask(trainee, "control", {"session_id": session_id, "action": "end"})
    assert refused["error"]["code"] == "trainer_only"
    for action in ("mute", "floor"):
        assert ask(
            trainer, "control", {"session_id": session_id, "action": action, "target": amina.id}
        )["ok"]
    ended = ask(trainer, "control", {"session_id": session_id, "action": "end"})
    assert ended["ok"] is True
    assert [c["action"] for c in received(trainee, "control")] == ["mute", "floor", "end"]
    answer = client.get(f"/api/v1/sessions/{session_id}/attendance", headers=trainer_h)
    (item,) = answer.get_json()["items"]
    assert item["status"] == "absent"  # closed: she never signed
    assert (
        ask(connect(app, client, amina.headers), "join", {"session_id": session_id})["error"][
            "code"
        ]
        == "session_not_open"
    )
