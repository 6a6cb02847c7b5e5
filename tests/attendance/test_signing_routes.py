"""The émargement through the API: open, trainer signature, rotating QR, personal codes, kiosks,
sign-out (R7), close and absences, corrections, the attendance sheet, the live Socket.IO room."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta

import pytest

from attendance.rules import PARIS
from core.extensions import db, socketio
from core.models import Role
from sites.models import Site
from tests.attendance.support import (
    DAY,
    at,
    count_rows,
    enrol,
    open_session,
    plan,
    qr_token,
    rows,
    sign_in,
    tenant_learner,
)
from tests.conftest import api_error, bearer, make_user

SIGN_INS = "/api/v1/sign-ins"
SIGN_OUTS = "/api/v1/sign-outs"


@pytest.fixture
def admin_h(app, tenant_a):
    return bearer(app, tenant_a.admin)


@pytest.fixture
def session_id(app, client, tenant_a, clock, trainer_h):
    """A tutorat 09:00–12:00 (Paris), opened at 08:50; the clock then reads 09:05:00."""
    sid = plan(app, client, tenant_a)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    return sid


def attendance(client, headers, session_id):  # noqa: ANN001, ANN201
    answer = client.get(f"/api/v1/sessions/{session_id}/attendance", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def presence(client, headers, session_id, trainee_id):  # noqa: ANN001, ANN201
    sheet = attendance(client, headers, session_id)
    (item,) = [i for i in sheet["items"] if i["trainee_id"] == trainee_id]
    return item


def codes(client, headers, session_id, *trainee_ids):  # noqa: ANN001, ANN201
    answer = client.post(
        f"/api/v1/sessions/{session_id}/sign-in-codes",
        json={"trainee_ids": list(trainee_ids)},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return {c["trainee_id"]: c["code"] for c in answer.get_json()}


def paris_iso(moment):  # noqa: ANN001, ANN201
    return moment.astimezone(PARIS).isoformat()


# --- opening and the trainer's signature ---------------------------------------------------------


def test_open_before_the_signing_margin_is_409_and_the_session_stays_planned(
    app, client, tenant_a, clock, trainer_h
):
    sid = plan(app, client, tenant_a)
    clock.set(8, 44, 59)
    api_error(client.post(f"/api/v1/sessions/{sid}/open", headers=trainer_h), 409)
    assert client.get(f"/api/v1/sessions/{sid}", headers=trainer_h).get_json()["status"] == (
        "planned"
    )
    clock.set(8, 45)
    open_session(client, trainer_h, sid)


def test_open_twice_is_409_session_not_planned(client, session_id, trainer_h):
    answer = client.post(f"/api/v1/sessions/{session_id}/open", headers=trainer_h)
    api_error(answer, 409, "session_not_planned")


@pytest.mark.parametrize("who", ["admin", "trainee", "other_trainer"])
def test_only_a_trainer_of_the_group_opens(app, client, tenant_a, tenant_b, clock, who):
    sid = plan(app, client, tenant_a)
    headers = {
        "admin": bearer(app, tenant_a.admin),
        "trainee": bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id),
        "other_trainer": bearer(app, tenant_b.trainer),
    }[who]
    answer = client.post(f"/api/v1/sessions/{sid}/open", headers=headers)
    assert answer.status_code in (403, 404), answer.get_json()
    assert client.get(f"/api/v1/sessions/{sid}", headers=bearer(app, tenant_a.admin)).get_json()[
        "status"
    ] == ("planned")


def test_trainer_signature_is_201_then_200_already_signed(client, session_id, trainer_h, tenant_a):
    first = client.post(f"/api/v1/sessions/{session_id}/trainer-signature", headers=trainer_h)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["trainer_id"] == tenant_a.trainer.id
    assert body["trainee_id"] is None
    assert (body["half_day"], body["already_signed"]) == ("am", False)
    assert body["signed_at"] == paris_iso(at(DAY, 9, 5))
    again = client.post(f"/api/v1/sessions/{session_id}/trainer-signature", headers=trainer_h)
    assert again.status_code == 200
    assert (again.get_json()["id"], again.get_json()["already_signed"]) == (body["id"], True)
    assert count_rows(session_id, signer_kind="trainer") == 1


def test_trainer_signature_before_opening_is_409_session_not_open(
    app, client, tenant_a, clock, trainer_h
):
    sid = plan(app, client, tenant_a)
    clock.set(9, 5)
    answer = client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=trainer_h)
    api_error(answer, 409, "session_not_open")
    assert count_rows(sid) == 0


# --- the rotating QR code -----------------------------------------------------------------------


def test_qr_payload_is_a_url_with_the_secret_after_the_hash(client, session_id, trainer_h):
    answer = client.get(f"/api/v1/sessions/{session_id}/qr", headers=trainer_h)
    assert answer.status_code == 200
    body = answer.get_json()
    url, secret = body["payload"].split("#", 1)
    assert url == "http://localhost/emarger"
    assert secret.startswith(session_id + ".")
    assert body["rotates_every_s"] == 15
    assert body["expires_at"] == paris_iso(at(DAY, 9, 5, 15))  # 09:05:00 starts a window


def test_qr_rotates_every_window(client, session_id, trainer_h, clock):
    first = qr_token(client, trainer_h, session_id)
    assert qr_token(client, trainer_h, session_id) == first
    clock.advance(seconds=15)
    assert qr_token(client, trainer_h, session_id) != first


@pytest.mark.parametrize("who", ["trainee", "admin", "other_trainer"])
def test_qr_is_shown_only_to_the_trainer_and_site_staff(
    app, client, tenant_a, tenant_b, session_id, who
):
    headers = {
        "trainee": bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id),
        "admin": bearer(app, tenant_a.admin),
        "other_trainer": bearer(app, tenant_b.trainer),
    }[who]
    for suffix in ("qr", "qr.svg", "qr.png"):
        answer = client.get(f"/api/v1/sessions/{session_id}/{suffix}", headers=headers)
        assert answer.status_code in (403, 404), (suffix, answer.status_code)
        assert session_id.encode() + b"." not in answer.data


def test_qr_svg_is_an_svg_image_that_is_not_cached(client, session_id, trainer_h):
    answer = client.get(f"/api/v1/sessions/{session_id}/qr.svg", headers=trainer_h)
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.get_data(as_text=True)
    assert re.match(r"\s*<svg\b", text)
    assert text.rstrip().endswith("</svg>")


def zbarimg() -> str:
    found = shutil.which("zbarimg")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("zbarimg (zbar-tools) is required in CI")
        pytest.skip("zbarimg (zbar-tools) is not installed")
    return found


def test_qr_png_decodes_with_zbar_to_exactly_the_payload(client, session_id, trainer_h, tmp_path):
    tool = zbarimg()
    payload = client.get(f"/api/v1/sessions/{session_id}/qr", headers=trainer_h).get_json()
    answer = client.get(f"/api/v1/sessions/{session_id}/qr.png", headers=trainer_h)
    assert answer.status_code == 200
    assert answer.mimetype == "image/png"
    assert answer.data.startswith(b"\x89PNG\r\n\x1a\n")
    image = tmp_path / "qr.png"
    image.write_bytes(answer.data)
    decoded = subprocess.run(  # noqa: S603 - fixed tool, our own file
        [tool, "-q", "--raw", str(image)], capture_output=True, text=True, check=True, timeout=30
    )
    assert decoded.stdout.rstrip("\n") == payload["payload"]


def test_qr_of_a_session_not_open_is_409(app, client, tenant_a, clock, trainer_h):
    sid = plan(app, client, tenant_a)
    clock.set(9, 5)
    api_error(client.get(f"/api/v1/sessions/{sid}/qr", headers=trainer_h), 409, "session_not_open")


# --- signing in with the QR code -----------------------------------------------------------------


def test_trainee_signs_in_by_qr_201_then_200_already_signed_exactly_once(
    client, session_id, trainer_h, amina
):
    token = qr_token(client, trainer_h, session_id)
    first = sign_in(client, amina, token)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["session_id"] == session_id
    assert body["trainee_id"] == amina.id
    assert (body["method"], body["channel"], body["half_day"]) == ("qr", "home", "am")
    assert body["already_signed"] is False
    assert body["signed_at"] == paris_iso(at(DAY, 9, 5))
    again = sign_in(client, amina, token)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["already_signed"] is True
    assert again.get_json()["id"] == body["id"]
    assert again.get_json()["signed_at"] == body["signed_at"]
    assert count_rows(session_id, signer_kind="trainee") == 1


def test_sign_in_records_the_device_and_network_but_answers_none_of_it(
    client, session_id, trainer_h, amina
):
    token = qr_token(client, trainer_h, session_id)
    answer = client.post(
        SIGN_INS,
        json={"qr": token},
        headers={**amina.headers, "User-Agent": "Mozilla/5.0 (Android 14)"},
    )
    assert answer.status_code == 201
    assert "device" not in answer.get_json()
    (row,) = [r for r in rows(session_id) if r["kind"] == "sign_in"]
    assert row["device"] == {"ua": "Mozilla/5.0 (Android 14)", "ip": "127.0.0.1"}


def test_an_expired_qr_is_410_qr_expired_and_records_nothing(
    client, session_id, trainer_h, amina, clock
):
    token = qr_token(client, trainer_h, session_id)  # window 09:05:00–09:05:15
    clock.set(9, 5, 20)  # the window ended 5 s ago: the grace is over
    api_error(sign_in(client, amina, token), 410, "qr_expired")
    clock.set(9, 6)
    api_error(sign_in(client, amina, token), 410, "qr_expired")
    assert count_rows(session_id) == 0


def test_the_previous_window_is_still_accepted_within_the_5_s_grace(
    client, session_id, trainer_h, amina, clock
):
    token = qr_token(client, trainer_h, session_id)  # window 09:05:00–09:05:15
    clock.now = at(DAY, 9, 5, 19) + timedelta(microseconds=900_000)
    answer = sign_in(client, amina, token)
    assert answer.status_code == 201, answer.get_json()
    assert count_rows(session_id) == 1


@pytest.mark.parametrize("forgery", ["altered_mac", "non_ascii_mac", "other_session"])
def test_a_forged_qr_is_400_qr_invalid_and_records_nothing(
    app, client, tenant_a, tenant_b, session_id, trainer_h, amina, forgery
):
    token = qr_token(client, trainer_h, session_id)
    body, mac = token.rsplit(".", 1)
    if forgery == "altered_mac":
        forged = f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}"
    elif forgery == "non_ascii_mac":
        forged = f"{body}.{mac[:-1]}é"
    else:  # the token of another open session, relabelled with this session's id
        other_trainer = bearer(app, tenant_b.trainer)
        other = plan(app, client, tenant_b, start=(9, 0), end=(10, 0))
        open_session(client, other_trainer, other)
        other_token = qr_token(client, other_trainer, other)
        forged = session_id + other_token[len(other) :]
    api_error(sign_in(client, amina, forged), 400, "qr_invalid")
    assert count_rows(session_id) == 0


@pytest.mark.parametrize("token", ["not a token at all", "x" * 41 + ".1.abc", "a.b.c.d.e.f"])
def test_a_malformed_qr_is_400_qr_invalid(client, session_id, amina, token):
    api_error(sign_in(client, amina, token), 400, "qr_invalid")
    assert count_rows(session_id) == 0


def test_a_trainee_of_another_organisation_scanning_the_qr_is_403_not_enrolled(
    app, client, session_id, trainer_h, tenant_b
):
    stranger = tenant_learner(app, tenant_b)
    token = qr_token(client, trainer_h, session_id)
    api_error(sign_in(client, stranger, token), 403, "not_enrolled")
    assert count_rows(session_id) == 0


def test_a_trainee_whose_path_starts_after_the_session_is_403_not_enrolled(
    app, client, tenant_a, session_id, trainer_h
):
    late = enrol(app, client, tenant_a, "Tardive", entry_date=DAY + timedelta(days=1))
    api_error(sign_in(client, late, qr_token(client, trainer_h, session_id)), 403, "not_enrolled")
    assert count_rows(session_id) == 0


def test_an_anonymous_qr_sign_in_is_refused_and_records_nothing(client, session_id, trainer_h):
    token = qr_token(client, trainer_h, session_id)
    answer = client.post(SIGN_INS, json={"qr": token})
    assert answer.status_code in (401, 403), answer.get_json()
    api_error(answer, answer.status_code)
    assert count_rows(session_id) == 0


def test_a_staff_bearer_cannot_sign_in_by_qr_for_anyone(client, session_id, trainer_h):
    token = qr_token(client, trainer_h, session_id)
    answer = client.post(SIGN_INS, json={"qr": token}, headers=trainer_h)
    assert answer.status_code == 403
    assert count_rows(session_id) == 0


@pytest.mark.parametrize("path", [SIGN_INS, SIGN_OUTS])
@pytest.mark.parametrize("body", [{}, {"qr": None, "code": None}, {"code": "AB"}, "nonsense"])
def test_an_empty_or_malformed_anonymous_sign_in_or_out_is_400(client, session_id, path, body):
    answer = client.post(path, json=body)
    api_error(answer, 400)
    assert count_rows(session_id) == 0


def test_an_invalid_bearer_is_401_even_with_a_good_code(client, session_id, trainer_h, tenant_a):
    code = codes(client, trainer_h, session_id, tenant_a.trainee.id)[tenant_a.trainee.id]
    answer = client.post(SIGN_INS, json={"code": code}, headers={"Authorization": "Bearer nope"})
    api_error(answer, 401)
    assert count_rows(session_id) == 0


# --- personal codes and site kiosks --------------------------------------------------------------


def test_sign_in_codes_are_issued_per_trainee_until_the_end(client, session_id, trainer_h, amina):
    answer = client.post(
        f"/api/v1/sessions/{session_id}/sign-in-codes",
        json={"trainee_ids": [amina.id]},
        headers=trainer_h,
    )
    assert answer.status_code == 201, answer.get_json()
    (issued,) = answer.get_json()
    assert set(issued) == {"trainee_id", "code", "expires_at"}
    assert issued["trainee_id"] == amina.id
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", issued["code"])
    assert issued["expires_at"] == paris_iso(at(DAY, 12))


def test_sign_in_codes_by_the_org_admin_too_but_not_by_a_trainee(
    client, session_id, admin_h, amina
):
    assert codes(client, admin_h, session_id, amina.id)
    answer = client.post(
        f"/api/v1/sessions/{session_id}/sign-in-codes",
        json={"trainee_ids": [amina.id]},
        headers=amina.headers,
    )
    api_error(answer, 403)


def test_sign_in_codes_for_a_trainee_outside_the_group_are_refused(
    client, session_id, trainer_h, tenant_b
):
    answer = client.post(
        f"/api/v1/sessions/{session_id}/sign-in-codes",
        json={"trainee_ids": [tenant_b.trainee.id]},
        headers=trainer_h,
    )
    api_error(answer, 404)


def test_an_anonymous_personal_code_signs_in_once(client, session_id, trainer_h, amina):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    first = client.post(SIGN_INS, json={"code": code})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["trainee_id"], body["method"], body["channel"]) == (amina.id, "code", "home")
    again = client.post(SIGN_INS, json={"code": code})
    assert again.status_code == 200, again.get_json()
    assert (again.get_json()["id"], again.get_json()["already_signed"]) == (body["id"], True)
    assert count_rows(session_id) == 1


def test_a_code_is_typed_without_its_dash_or_in_lower_case(client, session_id, trainer_h, amina):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    answer = client.post(SIGN_INS, json={"code": code.replace("-", " ").lower()})
    assert answer.status_code == 201, answer.get_json()


def make_site_staff(db_):  # noqa: ANN001, ANN201
    site = Site(
        name="Site Occitanie e-formation de Figeac",
        department="46",
        city="Figeac",
        seats=8,
        opening_hours={},
    )
    db_.session.add(site)
    db_.session.commit()
    return site, make_user(Role.SITE_STAFF, site_id=site.id)


def test_site_staff_show_the_qr_of_a_session_at_their_site_only(
    app, client, tenant_a, clock, trainer_h, amina
):
    site, staff = make_site_staff(db)
    _, elsewhere = make_site_staff(db)
    sid = plan(app, client, tenant_a, site_id=site.id)
    open_session(client, trainer_h, sid)
    clock.set(9, 5)
    token = qr_token(client, bearer(app, staff), sid)
    assert client.get(f"/api/v1/sessions/{sid}/qr", headers=bearer(app, elsewhere)).status_code in (
        403,
        404,
    )
    answer = sign_in(client, amina, token)
    assert answer.status_code == 201, answer.get_json()
    assert (answer.get_json()["method"], answer.get_json()["channel"]) == ("qr", f"site:{site.id}")


def test_a_wrong_code_is_400_invalid_code(client, session_id):
    api_error(client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}), 400, "invalid_code")
    assert count_rows(session_id) == 0


def test_ten_failed_attempts_then_429_too_many_attempts_even_with_a_good_code(
    app, client, session_id, trainer_h, amina
):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    for n in range(10):
        answer = client.post(SIGN_INS, json={"code": f"ZZZZ-ZZ{n:02d}"})
        api_error(answer, 400, "invalid_code")
    api_error(client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}), 429, "too_many_attempts")
    api_error(client.post(SIGN_INS, json={"code": code}), 429, "too_many_attempts")
    api_error(client.post(SIGN_OUTS, json={"code": code}), 429, "too_many_attempts")
    assert count_rows(session_id) == 0
    # Another client (the trainer's screen, counted by its bearer) is not locked out.
    answer = client.post(SIGN_INS, json={"code": code}, headers=trainer_h)
    assert answer.status_code == 201, answer.get_json()


def test_ten_failed_scans_from_one_phone_then_429_but_a_good_qr_still_signs_in(
    client, session_id, trainer_h, amina
):
    """A QR token is an HMAC of the session and window: it cannot be guessed, so a phone that
    scanned ten bad codes is answered 429 for the next bad one, and not locked out of signing
    with the code on the trainer's screen (a personal code, which can be guessed, is)."""
    token = qr_token(client, trainer_h, session_id)
    body, mac = token.rsplit(".", 1)
    forged = f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}"
    for _ in range(10):
        api_error(sign_in(client, amina, forged), 400, "qr_invalid")
    api_error(sign_in(client, amina, forged), 429, "too_many_attempts")
    assert count_rows(session_id) == 0
    answer = sign_in(client, amina, token)
    assert answer.status_code == 201, answer.get_json()
    assert count_rows(session_id) == 1
    # The phone is still over the limit for what can be guessed: codes typed on it.
    api_error(
        client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}, headers=amina.headers),
        429,
        "too_many_attempts",
    )
    # Anonymous callers and other phones are counted apart.
    api_error(client.post(SIGN_INS, json={"code": "ZZZZ-ZZZZ"}), 400, "invalid_code")


def test_successful_sign_ins_do_not_count_as_failed_attempts(
    app, client, tenant_a, session_id, trainer_h
):
    learners = [enrol(app, client, tenant_a, f"P{n}") for n in range(12)]
    issued = codes(client, trainer_h, session_id, *[p.id for p in learners])
    for learner in learners:
        answer = client.post(SIGN_INS, json={"code": issued[learner.id]})
        assert answer.status_code == 201, answer.get_json()


def test_a_code_of_a_session_not_open_is_409_and_stays_usable(
    app, client, tenant_a, clock, trainer_h, amina
):
    sid = plan(app, client, tenant_a)
    clock.set(8, 40)
    code = codes(client, trainer_h, sid, amina.id)[amina.id]
    api_error(client.post(SIGN_INS, json={"code": code}), 409, "session_not_open")
    assert count_rows(sid) == 0
    clock.set(8, 45)
    open_session(client, trainer_h, sid)
    answer = client.post(SIGN_INS, json={"code": code})
    assert answer.status_code == 201, answer.get_json()


def test_a_code_of_another_session_is_refused(app, client, tenant_a, session_id, trainer_h, amina):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    answer = client.post(SIGN_INS, json={"code": code, "session_id": tenant_a.session_id})
    api_error(answer, 409, "wrong_session")
    assert count_rows(session_id) == 0


def test_after_the_end_signing_is_closed(client, session_id, trainer_h, amina, clock):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    clock.set(12, 0)
    api_error(client.post(SIGN_INS, json={"code": code}), 410, "code_expired")  # lived to the end
    clock.set(11, 59, 59)
    token = qr_token(client, trainer_h, session_id)
    clock.set(12, 0, 1)
    api_error(sign_in(client, amina, token), 409, "signing_closed")
    assert count_rows(session_id) == 0


# --- sign-out and realised minutes (R7, R19) ----------------------------------------------------


def test_r19_an_autoformation_session_is_identified_as_such(app, client, tenant_a, trainer_h):
    sid = plan(app, client, tenant_a, kind="autoformation")
    session = client.get(f"/api/v1/sessions/{sid}", headers=trainer_h).get_json()
    assert (session["kind"], session["synchronous"]) == ("autoformation", False)


def test_r7_autoformation_without_sign_out_gives_0_minutes_with_sign_out_the_minutes(
    app, client, tenant_a, clock, trainer_h, admin_h, amina
):
    sid = plan(app, client, tenant_a, kind="autoformation")
    clock.set(8, 55)
    open_session(client, trainer_h, sid)
    clock.set(9, 10)
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    clock.set(10, 0)
    item = presence(client, admin_h, sid, amina.id)
    assert (item["status"], item["minutes"], item["signed_out_at"]) == ("present", 0, None)
    clock.set(11, 10)
    out = client.post(
        SIGN_OUTS, json={"qr": qr_token(client, trainer_h, sid)}, headers=amina.headers
    )
    assert out.status_code == 200, out.get_json()
    assert out.get_json()["signed_out_at"] == paris_iso(at(DAY, 11, 10))
    assert out.get_json()["signed_at"] == paris_iso(at(DAY, 9, 10))
    item = presence(client, admin_h, sid, amina.id)
    assert (item["status"], item["minutes"]) == ("present", 120)
    assert item["signed_out_at"] == paris_iso(at(DAY, 11, 10))


def test_r7_autoformation_never_signed_out_stays_at_0_after_the_close(
    app, client, tenant_a, clock, trainer_h, admin_h, amina
):
    sid = plan(app, client, tenant_a, kind="autoformation")
    clock.set(8, 55)
    open_session(client, trainer_h, sid)
    clock.set(9, 10)
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    clock.set(11, 50)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200
    assert presence(client, admin_h, sid, amina.id)["minutes"] == 0


def test_a_personal_code_signs_out_too(client, session_id, trainer_h, amina, admin_h, clock):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    assert client.post(SIGN_INS, json={"code": code}).status_code == 201
    clock.set(10, 35)
    out = client.post(SIGN_OUTS, json={"code": code})
    assert out.status_code == 200, out.get_json()
    assert out.get_json()["signed_out_at"] == paris_iso(at(DAY, 10, 35))
    assert presence(client, admin_h, session_id, amina.id)["minutes"] == 90


def test_sign_out_before_sign_in_is_409_not_signed_in(client, session_id, trainer_h, amina):
    token = qr_token(client, trainer_h, session_id)
    api_error(
        client.post(SIGN_OUTS, json={"qr": token}, headers=amina.headers), 409, "not_signed_in"
    )
    assert count_rows(session_id) == 0


def test_signing_out_twice_keeps_the_first_sign_out(
    client, session_id, trainer_h, amina, admin_h, clock
):
    assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
    clock.set(10, 5)
    first = client.post(
        SIGN_OUTS, json={"qr": qr_token(client, trainer_h, session_id)}, headers=amina.headers
    )
    clock.set(11, 5)
    again = client.post(
        SIGN_OUTS, json={"qr": qr_token(client, trainer_h, session_id)}, headers=amina.headers
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json()["signed_out_at"] == first.get_json()["signed_out_at"]
    assert count_rows(session_id, kind="sign_out") == 1
    assert presence(client, admin_h, session_id, amina.id)["minutes"] == 60


def test_tutorat_without_sign_out_counts_from_sign_in_to_the_close(
    client, session_id, trainer_h, amina, admin_h, clock
):
    assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
    clock.set(11, 5)
    assert client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code == 200
    item = presence(client, admin_h, session_id, amina.id)
    assert (item["status"], item["minutes"], item["method"]) == ("present", 120, "qr")


def test_a_sign_in_before_the_start_counts_from_the_start(
    app, client, tenant_a, clock, trainer_h, admin_h, amina
):
    sid = plan(app, client, tenant_a)
    clock.set(8, 50)
    open_session(client, trainer_h, sid)
    clock.set(8, 52)
    answer = sign_in(client, amina, qr_token(client, trainer_h, sid))
    assert answer.get_json()["signed_at"] == paris_iso(at(DAY, 8, 52))
    clock.set(10, 0)
    assert client.post(f"/api/v1/sessions/{sid}/close", headers=trainer_h).status_code == 200
    assert presence(client, admin_h, sid, amina.id)["minutes"] == 60


def test_a_session_across_13h_takes_one_signature_per_half_day(
    app, client, tenant_a, clock, trainer_h, admin_h, amina
):
    sid = plan(app, client, tenant_a, start=(10, 0), end=(16, 0))
    clock.set(9, 50)
    open_session(client, trainer_h, sid)
    clock.set(10, 0)
    morning = sign_in(client, amina, qr_token(client, trainer_h, sid))
    assert (morning.status_code, morning.get_json()["half_day"]) == (201, "am")
    clock.set(14, 0)
    afternoon = sign_in(client, amina, qr_token(client, trainer_h, sid))
    assert (afternoon.status_code, afternoon.get_json()["half_day"]) == (201, "pm")
    assert afternoon.get_json()["id"] != morning.get_json()["id"]
    item = presence(client, admin_h, sid, amina.id)
    assert [h["half_day"] for h in item["halves"]] == ["am", "pm"]
    assert item["minutes"] == 180 + 120  # continuous to 13:00, then from the 14:00 signature


# --- close, absences, corrections ----------------------------------------------------------------


def test_close_marks_enrolled_trainees_without_signature_absent_and_stops_the_qr(
    app, client, tenant_a, session_id, trainer_h, admin_h, amina, clock
):
    absent = enrol(app, client, tenant_a, "Absente")
    assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
    clock.set(11, 30)
    closed = client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h)
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    sheet = attendance(client, admin_h, session_id)
    status = {i["trainee_id"]: i["status"] for i in sheet["items"]}
    assert status == {amina.id: "present", absent.id: "absent"}
    assert count_rows(session_id, kind="absence", signer_id=absent.id) == 1
    assert count_rows(session_id, kind="absence", signer_id=amina.id) == 0
    api_error(client.get(f"/api/v1/sessions/{session_id}/qr", headers=trainer_h), 409)
    api_error(client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h), 409)


def test_a_code_sign_in_after_the_close_is_409(client, session_id, trainer_h, amina, clock):
    code = codes(client, trainer_h, session_id, amina.id)[amina.id]
    assert client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code == 200
    before = count_rows(session_id)
    api_error(client.post(SIGN_INS, json={"code": code}), 409, "session_not_open")
    assert count_rows(session_id) == before


def test_a_qr_sign_in_after_the_close_is_409_session_not_open(
    client, session_id, trainer_h, amina, clock
):
    token = qr_token(client, trainer_h, session_id)  # shown until the trainer closed
    clock.advance(seconds=3)
    assert client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code == 200
    before = count_rows(session_id)
    clock.advance(seconds=3)  # still inside the token's window
    api_error(sign_in(client, amina, token), 409, "session_not_open")
    assert count_rows(session_id) == before


def test_after_the_close_the_trainer_can_no_longer_sign(client, session_id, trainer_h):
    assert client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code == 200
    answer = client.post(f"/api/v1/sessions/{session_id}/trainer-signature", headers=trainer_h)
    api_error(answer, 409, "session_not_open")
    assert count_rows(session_id, signer_kind="trainer") == 0


def test_an_absence_for_a_trainee_outside_the_group_is_404(client, session_id, trainer_h, tenant_b):
    answer = client.post(
        f"/api/v1/sessions/{session_id}/absences",
        json={"trainee_id": tenant_b.trainee.id, "reason": "Maladie", "justified": True},
        headers=trainer_h,
    )
    api_error(answer, 404)
    assert count_rows(session_id) == 0


def test_an_absence_with_its_reason_is_recorded(
    app, client, tenant_a, session_id, trainer_h, admin_h
):
    sick = enrol(app, client, tenant_a, "Malade")
    answer = client.post(
        f"/api/v1/sessions/{session_id}/absences",
        json={"trainee_id": sick.id, "reason": "Arrêt maladie", "justified": True},
        headers=trainer_h,
    )
    assert answer.status_code == 201, answer.get_json()
    (entry,) = answer.get_json()["items"]
    assert (entry["trainee_id"], entry["kind"], entry["half_day"]) == (sick.id, "absence", "am")
    assert (entry["reason"], entry["justified"]) == ("Arrêt maladie", True)
    item = presence(client, admin_h, session_id, sick.id)
    assert item["status"] == "absent"
    assert (item["halves"][0]["reason"], item["halves"][0]["justified"]) == ("Arrêt maladie", True)


def test_closing_keeps_the_recorded_reason_of_an_absence(
    app, client, tenant_a, session_id, trainer_h, admin_h
):
    sick = enrol(app, client, tenant_a, "Malade")
    client.post(
        f"/api/v1/sessions/{session_id}/absences",
        json={"trainee_id": sick.id, "reason": "Rendez-vous France Travail", "justified": True},
        headers=trainer_h,
    )
    assert client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code == 200
    assert count_rows(session_id, kind="absence", signer_id=sick.id) == 1
    half = presence(client, admin_h, session_id, sick.id)["halves"][0]
    assert (half["reason"], half["justified"]) == ("Rendez-vous France Travail", True)


def test_an_absence_on_a_present_trainee_is_409_already_present(
    client, session_id, trainer_h, amina
):
    assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
    answer = client.post(
        f"/api/v1/sessions/{session_id}/absences",
        json={"trainee_id": amina.id, "reason": "Erreur", "justified": False},
        headers=trainer_h,
    )
    api_error(answer, 409, "already_present")
    assert count_rows(session_id) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "Maladie", "justified": True},
        {"trainee_id": "x", "justified": True},
        {"trainee_id": "x", "reason": "Maladie"},
    ],
)
def test_an_incomplete_absence_is_400(client, session_id, trainer_h, body):
    api_error(
        client.post(f"/api/v1/sessions/{session_id}/absences", json=body, headers=trainer_h), 400
    )


def test_corrections_add_entries_and_never_edit_earlier_ones(
    app, client, tenant_a, session_id, trainer_h, admin_h, amina, clock
):
    forgot = enrol(app, client, tenant_a, "Oubli")
    assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
    clock.set(11, 0)
    assert client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code == 200
    before = rows(session_id)
    assert presence(client, admin_h, session_id, forgot.id)["status"] == "absent"

    clock.set(11, 30)
    present = client.post(
        f"/api/v1/sessions/{session_id}/corrections",
        json={"trainee_id": forgot.id, "action": "mark_present", "reason": "Feuille papier"},
        headers=trainer_h,
    )
    assert present.status_code == 201, present.get_json()
    (entry,) = present.get_json()["items"]
    assert (entry["kind"], entry["action"], entry["method"]) == (
        "correction",
        "mark_present",
        "correction",
    )
    assert entry["reason"] == "Feuille papier"
    item = presence(client, admin_h, session_id, forgot.id)
    assert (item["status"], item["method"]) == ("present", "correction")
    assert item["minutes"] == 120  # attested from the start to the close

    absent = client.post(
        f"/api/v1/sessions/{session_id}/corrections",
        json={"trainee_id": amina.id, "action": "mark_absent", "reason": "Parti à 9 h 10"},
        headers=admin_h,
    )
    assert absent.status_code == 201, absent.get_json()
    item = presence(client, admin_h, session_id, amina.id)
    assert (item["status"], item["minutes"]) == ("absent", 0)

    after = rows(session_id)
    assert len(after) == len(before) + 2
    assert after[: len(before)] == before  # hashes and every field unchanged
    assert [r["author_id"] for r in after[len(before) :]] == [
        tenant_a.trainer.id,
        tenant_a.admin.id,
    ]


def test_a_trainee_cannot_correct_their_own_attendance(client, session_id, amina):
    answer = client.post(
        f"/api/v1/sessions/{session_id}/corrections",
        json={"trainee_id": amina.id, "action": "mark_present", "reason": "J'étais là"},
        headers=amina.headers,
    )
    api_error(answer, 403)
    assert count_rows(session_id) == 0


def test_a_correction_before_opening_is_409(app, client, tenant_a, trainer_h, amina, clock):
    sid = plan(app, client, tenant_a)
    answer = client.post(
        f"/api/v1/sessions/{sid}/corrections",
        json={"trainee_id": amina.id, "action": "mark_present", "reason": "Feuille papier"},
        headers=trainer_h,
    )
    api_error(answer, 409, "session_not_open")


# --- the attendance sheet: "held" (R11) ---------------------------------------------------------


def test_held_only_when_opened_trainer_signed_and_one_trainee_signed(
    app, client, tenant_a, clock, trainer_h, admin_h, amina
):
    sid = plan(app, client, tenant_a)
    assert attendance(client, admin_h, sid)["held"] is False  # planned
    clock.set(8, 50)
    open_session(client, trainer_h, sid)
    assert attendance(client, admin_h, sid)["held"] is False  # opened only
    clock.set(9, 2)
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    assert attendance(client, admin_h, sid)["held"] is False  # no trainer signature yet
    assert (
        client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=trainer_h).status_code
        == 201
    )
    sheet = attendance(client, admin_h, sid)
    assert (sheet["held"], sheet["status"]) == (True, "open")


def test_held_not_without_a_trainee(client, session_id, trainer_h, admin_h):
    assert (
        client.post(
            f"/api/v1/sessions/{session_id}/trainer-signature", headers=trainer_h
        ).status_code
        == 201
    )
    assert attendance(client, admin_h, session_id)["held"] is False


def test_an_autoformation_is_never_held(app, client, tenant_a, clock, trainer_h, admin_h, amina):
    sid = plan(app, client, tenant_a, kind="autoformation")
    clock.set(8, 50)
    open_session(client, trainer_h, sid)
    clock.set(9, 2)
    assert (
        client.post(f"/api/v1/sessions/{sid}/trainer-signature", headers=trainer_h).status_code
        == 201
    )
    assert sign_in(client, amina, qr_token(client, trainer_h, sid)).status_code == 201
    assert attendance(client, admin_h, sid)["held"] is False


@pytest.mark.parametrize("who", ["finance", "region"])
def test_finance_and_region_read_the_sheet(app, client, tenant_a, session_id, region, who):
    headers = bearer(app, tenant_a.finance if who == "finance" else region)
    sheet = attendance(client, headers, session_id)
    assert [i["trainee_id"] for i in sheet["items"]] == [tenant_a.trainee.id]


@pytest.mark.parametrize("who", ["trainee", "other_admin"])
def test_the_sheet_is_not_shown_to_trainees_or_other_organisations(
    app, client, tenant_a, tenant_b, session_id, who
):
    headers = {
        "trainee": bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id),
        "other_admin": bearer(app, tenant_b.admin),
    }[who]
    answer = client.get(f"/api/v1/sessions/{session_id}/attendance", headers=headers)
    assert answer.status_code in (403, 404)
    assert tenant_a.trainee.id not in answer.get_data(as_text=True)


# --- Socket.IO: the trainer's live page ----------------------------------------------------------


def live_client(app, client, user, **kw):  # noqa: ANN001, ANN201
    token = bearer(app, user, **kw)["Authorization"].split(" ", 1)[1]
    return socketio.test_client(
        app, namespace="/live", auth={"token": token}, flask_test_client=client
    )


def events(live, name):  # noqa: ANN001, ANN201
    return [e["args"][0] for e in live.get_received("/live") if e["name"] == name]


def test_live_trainer_joins_and_receives_each_signature_with_the_trainee_name(
    app, client, tenant_a, session_id, trainer_h, amina
):
    live = live_client(app, client, tenant_a.trainer)
    try:
        assert live.is_connected("/live")
        ack = live.emit("join", {"session_id": session_id}, namespace="/live", callback=True)
        assert ack["ok"] is True
        live.get_received("/live")
        assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
        (event,) = events(live, "signature")
        assert (event["signer_kind"], event["signer_id"]) == ("trainee", amina.id)
        assert event["name"] == amina.trainee.full_name
        assert (event["method"], event["half_day"]) == ("qr", "am")
        # A repeated scan is not announced twice.
        assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 200
        assert events(live, "signature") == []
    finally:
        live.disconnect("/live")


def test_live_close_is_announced_to_the_room(app, client, tenant_a, session_id, trainer_h):
    live = live_client(app, client, tenant_a.trainer)
    try:
        live.emit("join", {"session_id": session_id}, namespace="/live", callback=True)
        live.get_received("/live")
        assert (
            client.post(f"/api/v1/sessions/{session_id}/close", headers=trainer_h).status_code
            == 200
        )
        assert events(live, "closed") == [{"session_id": session_id}]
    finally:
        live.disconnect("/live")


def test_live_a_trainer_of_another_organisation_cannot_join_nor_hear(
    app, client, tenant_a, tenant_b, session_id, trainer_h, amina
):
    live = live_client(app, client, tenant_b.trainer)
    try:
        assert live.is_connected("/live")
        ack = live.emit("join", {"session_id": session_id}, namespace="/live", callback=True)
        assert ack == {"ok": False, "error": "not_found"}
        assert sign_in(client, amina, qr_token(client, trainer_h, session_id)).status_code == 201
        assert events(live, "signature") == []
    finally:
        live.disconnect("/live")


def test_live_a_page_that_leaves_while_joining_gets_an_answer_not_a_server_error(
    app, client, tenant_a, session_id, monkeypatch
):
    """The page disconnected between its join and the room: the handler answers, it does not
    raise in the server's thread."""
    import attendance.events

    def gone(room: str) -> None:
        raise ValueError("sid is not connected to requested namespace")

    monkeypatch.setattr(attendance.events, "join_room", gone)
    live = live_client(app, client, tenant_a.trainer)
    try:
        ack = live.emit("join", {"session_id": session_id}, namespace="/live", callback=True)
        assert ack == {"ok": False, "error": "disconnected"}
    finally:
        live.disconnect("/live")


def test_live_a_trainee_token_is_refused(app, client, tenant_a):
    live = live_client(app, client, tenant_a.trainee, dev=tenant_a.invitation_id)
    assert not live.is_connected("/live")


def test_live_a_bad_token_is_refused(app, client):
    live = socketio.test_client(
        app, namespace="/live", auth={"token": "forged"}, flask_test_client=client
    )
    assert not live.is_connected("/live")
