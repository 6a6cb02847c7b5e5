"""Sessions through the API: planning, R6, R10, public holidays, PATCH, lists."""

from __future__ import annotations

import os
import threading
from datetime import date, timedelta

import pytest

from core.models import Role
from tests.attendance.test_rules import easter_sunday
from tests.conftest import (
    ORDER_START,
    THIS_YEAR,
    api_error,
    bearer,
    make_user,
    order_data,
    paris,
)

TUESDAY = ORDER_START + timedelta(days=8)


@pytest.fixture
def admin_h(app, tenant_a):
    return bearer(app, tenant_a.admin)


def session_body(day: date, start: int = 9, end: int = 12, **fields: object) -> dict:
    body = {
        "kind": "tutorat",
        "title": "Séance",
        "starts_at": paris(day, start),
        "ends_at": paris(day, end),
        **fields,
    }
    return {k: v for k, v in body.items() if v is not None}


def plan(client, headers, group_id: str, body: dict):  # noqa: ANN001, ANN201
    return client.post(f"/api/v1/groups/{group_id}/sessions", json=body, headers=headers)


def session_ids(client, headers, group_id: str) -> list[str]:  # noqa: ANN001
    listed = client.get(f"/api/v1/groups/{group_id}/sessions", headers=headers).get_json()
    return [s["id"] for s in listed["items"]]


def new_group(client, headers, **order_fields: object) -> str:  # noqa: ANN001
    order = client.post("/api/v1/orders", json=order_data(**order_fields), headers=headers)
    assert order.status_code == 201, order.get_json()
    return add_group(client, headers, order.get_json()["id"], "Groupe R")


def add_group(client, headers, order_id: str, name: str = "Groupe B") -> str:  # noqa: ANN001
    group = client.post(
        f"/api/v1/orders/{order_id}/groups",
        json={"name": name, "component": "Anglais", "trainer_ids": []},
        headers=headers,
    )
    assert group.status_code == 201, group.get_json()
    return group.get_json()["id"]


# --- planning ----------------------------------------------------------------------------------


def test_trainer_of_the_group_plans_a_session_shown_in_paris_time(app, client, tenant_a):
    h = bearer(app, tenant_a.trainer)
    answer = plan(client, h, tenant_a.group_id, session_body(TUESDAY, 14, 17, title="Oral"))
    assert answer.status_code == 201, answer.get_json()
    session = answer.get_json()
    assert session["starts_at"] == paris(TUESDAY, 14)
    assert session["ends_at"] == paris(TUESDAY, 17)
    assert (session["kind"], session["title"], session["status"]) == ("tutorat", "Oral", "planned")
    assert session["synchronous"] is True
    assert (session["on_public_holiday"], session["warnings"]) == (False, [])
    assert client.get(f"/api/v1/sessions/{session['id']}", headers=h).get_json() == session


def test_a_utc_time_is_stored_as_the_same_instant(client, admin_h, tenant_a):
    body = session_body(TUESDAY)
    body["starts_at"] = f"{TUESDAY.isoformat()}T08:00:00+00:00"  # 09:00 in Paris (winter)
    answer = plan(client, admin_h, tenant_a.group_id, body)
    assert answer.status_code == 201
    assert answer.get_json()["starts_at"] == paris(TUESDAY, 9)


def test_autoformation_is_not_synchronous(client, admin_h, tenant_a):
    answer = plan(client, admin_h, tenant_a.group_id, session_body(TUESDAY, kind="autoformation"))
    assert answer.status_code == 201
    assert answer.get_json()["synchronous"] is False


def test_a_trainer_of_another_group_cannot_plan(app, client, tenant_a):
    other_trainer = make_user(Role.TRAINER, tenant_a.org)
    answer = plan(client, bearer(app, other_trainer), tenant_a.group_id, session_body(TUESDAY))
    assert answer.status_code in (403, 404)
    api_error(answer, answer.status_code)


def test_finance_cannot_plan(app, client, tenant_a):
    answer = plan(client, bearer(app, tenant_a.finance), tenant_a.group_id, session_body(TUESDAY))
    api_error(answer, 403)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (session_body(TUESDAY, 12, 9), "invalid_dates"),
        (session_body(ORDER_START - timedelta(days=1)), "session_outside_order"),
        (session_body(date(THIS_YEAR, 12, 1)), "session_outside_order"),
        (session_body(TUESDAY, 23, 23) | {"ends_at": paris(TUESDAY + timedelta(1), 1)}, None),
        (session_body(TUESDAY) | {"starts_at": f"{TUESDAY.isoformat()}T09:00:00"}, None),
        (session_body(TUESDAY, kind="webinaire"), "invalid_input"),
        (session_body(TUESDAY) | {"room": "B12"}, "invalid_input"),
    ],
    ids=["ends-first", "before-order", "after-order", "two-days", "naive", "kind", "unknown"],
)
def test_bad_session_times_or_fields_are_400_and_store_nothing(
    client, admin_h, tenant_a, body, code
):
    before = session_ids(client, admin_h, tenant_a.group_id)
    api_error(plan(client, admin_h, tenant_a.group_id, body), 400, code)
    assert session_ids(client, admin_h, tenant_a.group_id) == before


# --- R6: autoformation cap ----------------------------------------------------------------------


def test_r6_hybrid_autoformation_is_capped_at_20_percent(client, admin_h):
    group_id = new_group(client, admin_h, modality="hybride", centre_hours=10.0)
    first = session_body(TUESDAY, 9, 11, kind="autoformation")  # 2 h = 20 % of 10 h
    assert plan(client, admin_h, group_id, first).status_code == 201
    more = session_body(TUESDAY + timedelta(days=1), 9, 9, kind="autoformation")
    more["ends_at"] = paris(TUESDAY + timedelta(days=1), 9, 30)
    error = api_error(plan(client, admin_h, group_id, more), 422, "autoformation_cap", "R6")
    assert "20 %" in error["message"]
    assert len(session_ids(client, admin_h, group_id)) == 1
    tutorat = session_body(TUESDAY + timedelta(days=1), kind="tutorat")
    assert plan(client, admin_h, group_id, tutorat).status_code == 201, "R6 caps autoformation only"


def test_r6_e_formation_autoformation_is_capped_at_50_percent(client, admin_h, tenant_a):
    # tenant_a's order: e_formation, 100 centre hours → 50 h of autoformation.
    for offset, (start, end) in enumerate([(8, 20)] * 4 + [(9, 11)]):
        day = TUESDAY + timedelta(days=offset)
        body = session_body(day, start, end, kind="autoformation")
        assert plan(client, admin_h, tenant_a.group_id, body).status_code == 201
    extra = session_body(TUESDAY + timedelta(days=6), 14, 15, kind="autoformation")
    error = api_error(plan(client, admin_h, tenant_a.group_id, extra), 422, rule="R6")
    assert "50 %" in error["message"]


def test_r6_the_cap_is_a_share_of_the_order_summed_over_all_its_groups(client, admin_h, tenant_a):
    """Issue 7, defect 6: an order with N groups could plan N × the cap. tenant_a's order:
    e-formation, 100 centre hours → 50 h of autoformation for the whole order."""
    group_b = add_group(client, admin_h, tenant_a.order_id)
    for offset in range(3):  # 3 × 12 h = 36 h in group A
        body = session_body(TUESDAY + timedelta(days=offset), 8, 20, kind="autoformation")
        assert plan(client, admin_h, tenant_a.group_id, body).status_code == 201
    body = session_body(TUESDAY, 8, 20, kind="autoformation")  # 12 h more in group B: 48 h
    assert plan(client, admin_h, group_b, body).status_code == 201
    over = session_body(TUESDAY + timedelta(days=1), 9, 12, kind="autoformation")  # 51 h
    error = api_error(plan(client, admin_h, group_b, over), 422, "autoformation_cap", "R6")
    assert "soit 50 h ; 48 h sont déjà prévues" in error["message"]
    assert len(session_ids(client, admin_h, group_b)) == 1
    fits = session_body(TUESDAY + timedelta(days=1), 9, 11, kind="autoformation")  # 50 h
    assert plan(client, admin_h, group_b, fits).status_code == 201


def test_r6_an_edit_in_one_group_counts_the_other_groups(client, admin_h, tenant_a):
    group_b = add_group(client, admin_h, tenant_a.order_id)
    for offset in range(4):  # 48 h in group A
        body = session_body(TUESDAY + timedelta(days=offset), 8, 20, kind="autoformation")
        assert plan(client, admin_h, tenant_a.group_id, body).status_code == 201
    short = plan(client, admin_h, group_b, session_body(TUESDAY, 9, 10, kind="autoformation"))
    assert short.status_code == 201
    url = f"/api/v1/sessions/{short.get_json()['id']}"
    longer = client.patch(url, json={"ends_at": paris(TUESDAY, 12)}, headers=admin_h)  # 51 h
    api_error(longer, 422, "autoformation_cap", "R6")
    assert client.get(url, headers=admin_h).get_json()["ends_at"] == paris(TUESDAY, 10)


def test_r6_an_order_edit_checks_the_sum_of_its_groups(client, admin_h, tenant_a):
    group_b = add_group(client, admin_h, tenant_a.order_id)
    for group_id in (tenant_a.group_id, group_b):  # 12 h each: 24 h, within 50 % of 100 h
        body = session_body(TUESDAY, 8, 20, kind="autoformation")
        assert plan(client, admin_h, group_id, body).status_code == 201
    url = f"/api/v1/orders/{tenant_a.order_id}"
    answer = client.patch(url, json={"centre_hours": 40}, headers=admin_h)  # cap 20 h < 24 h
    api_error(answer, 422, "autoformation_cap", "R6")
    assert client.get(url, headers=admin_h).get_json()["centre_hours"] == 100
    assert client.patch(url, json={"centre_hours": 48}, headers=admin_h).status_code == 200


# --- R10: regroupements in e-formation ----------------------------------------------------------


def regroupement(day: date, reason: str | None = None) -> dict:
    return session_body(day, kind="regroupement", regroupement_reason=reason, title="Salle")


def test_r10_regroupement_without_a_reason_is_422(client, admin_h, tenant_a):
    before = session_ids(client, admin_h, tenant_a.group_id)
    answer = plan(client, admin_h, tenant_a.group_id, regroupement(TUESDAY))
    error = api_error(answer, 422, "regroupement_not_allowed", "R10")
    assert "accueil" in error["message"]
    assert session_ids(client, admin_h, tenant_a.group_id) == before


def test_r10_welcome_day_only_on_the_first_day_of_the_group(client, admin_h, tenant_a):
    late = plan(client, admin_h, tenant_a.group_id, regroupement(TUESDAY, "accueil"))
    error = api_error(late, 422, rule="R10")
    assert ORDER_START.strftime("%d/%m/%Y") in error["message"]
    first = plan(client, admin_h, tenant_a.group_id, regroupement(ORDER_START, "accueil"))
    assert first.status_code == 201
    assert first.get_json()["regroupement_reason"] == "accueil"


def test_r10_welcome_day_follows_the_group_own_start(client, admin_h, tenant_a):
    url = f"/api/v1/groups/{tenant_a.group_id}"
    moved = client.patch(url, json={"start_date": TUESDAY.isoformat()}, headers=admin_h)
    assert moved.status_code == 200, moved.get_json()
    api_error(plan(client, admin_h, tenant_a.group_id, regroupement(ORDER_START, "accueil")), 422)
    assert plan(
        client, admin_h, tenant_a.group_id, regroupement(TUESDAY, "accueil")
    ).status_code == (201)


def test_r10_exam_regroupement_any_day(client, admin_h, tenant_a):
    answer = plan(client, admin_h, tenant_a.group_id, regroupement(date(THIS_YEAR, 6, 2), "examen"))
    assert answer.status_code == 201


def test_r10_authorised_regroupement_needs_the_region(app, client, admin_h, tenant_a, region):
    day = date(THIS_YEAR, 3, 10)
    api_error(
        plan(client, admin_h, tenant_a.group_id, regroupement(day, "autorise")),
        422,
        "regroupement_not_authorised",
        "R10",
    )
    url = f"/api/v1/groups/{tenant_a.group_id}/regroupement-authorisations"
    grant = {"session_date": day.isoformat(), "reason": "Visite d'entreprise"}
    api_error(client.post(url, json=grant, headers=admin_h), 403)
    granted = client.post(url, json=grant, headers=bearer(app, region))
    assert granted.status_code == 201, granted.get_json()
    assert granted.get_json()["session_date"] == day.isoformat()
    assert granted.get_json()["group_id"] == tenant_a.group_id
    answer = plan(client, admin_h, tenant_a.group_id, regroupement(day, "autorise"))
    assert answer.status_code == 201, answer.get_json()
    other_day = plan(
        client, admin_h, tenant_a.group_id, regroupement(day + timedelta(1), "autorise")
    )
    api_error(other_day, 422, rule="R10")


def test_region_authorisation_for_an_unknown_group_is_404(app, client, region):
    url = "/api/v1/groups/000000000000000000000000/regroupement-authorisations"
    body = {"session_date": f"{THIS_YEAR}-03-10", "reason": "Visite"}
    api_error(client.post(url, json=body, headers=bearer(app, region)), 404)


def test_r10_does_not_apply_outside_e_formation(client, admin_h):
    group_id = new_group(client, admin_h, modality="presentiel")
    assert plan(client, admin_h, group_id, regroupement(TUESDAY)).status_code == 201


# --- public holidays ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [date(THIS_YEAR, 7, 14), easter_sunday(THIS_YEAR) + timedelta(days=1), date(THIS_YEAR, 5, 1)],
    ids=["14-juillet", "lundi-de-paques", "1er-mai"],
)
def test_session_on_a_public_holiday_is_created_and_flagged(client, admin_h, tenant_a, day):
    answer = plan(client, admin_h, tenant_a.group_id, session_body(day))
    assert answer.status_code == 201
    session = answer.get_json()
    assert session["on_public_holiday"] is True
    assert session["warnings"] == ["public_holiday"]


def test_session_moved_onto_a_holiday_gets_flagged(client, admin_h, tenant_a):
    url = f"/api/v1/sessions/{tenant_a.session_id}"
    moved = session_body(date(THIS_YEAR, 7, 14)) | {"title": "Tutorat"}
    answer = client.patch(url, json=moved, headers=admin_h)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["warnings"] == ["public_holiday"]


# --- PATCH re-checks the rules ------------------------------------------------------------------


def test_patch_rechecks_r6_and_a_refused_patch_changes_nothing(client, admin_h):
    group_id = new_group(client, admin_h, modality="hybride", centre_hours=10.0)  # cap 2 h
    tutorat = plan(client, admin_h, group_id, session_body(TUESDAY, 9, 12)).get_json()
    auto_body = session_body(TUESDAY + timedelta(1), 9, 11, kind="autoformation")
    auto = plan(client, admin_h, group_id, auto_body).get_json()

    to_auto = session_body(TUESDAY, 9, 12, kind="autoformation")
    answer = client.patch(f"/api/v1/sessions/{tutorat['id']}", json=to_auto, headers=admin_h)
    api_error(answer, 422, "autoformation_cap", "R6")
    assert client.get(f"/api/v1/sessions/{tutorat['id']}", headers=admin_h).get_json() == tutorat

    longer = auto_body | {"ends_at": paris(TUESDAY + timedelta(1), 12)}
    answer = client.patch(f"/api/v1/sessions/{auto['id']}", json=longer, headers=admin_h)
    api_error(answer, 422, rule="R6")
    assert client.get(f"/api/v1/sessions/{auto['id']}", headers=admin_h).get_json() == auto

    shorter = auto_body | {"starts_at": paris(TUESDAY + timedelta(1), 9, 30)}
    answer = client.patch(f"/api/v1/sessions/{auto['id']}", json=shorter, headers=admin_h)
    assert answer.status_code == 200, "a session does not count against itself"
    half_hour = to_auto | {"ends_at": paris(TUESDAY, 9, 30)}
    answer = client.patch(f"/api/v1/sessions/{tutorat['id']}", json=half_hour, headers=admin_h)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["kind"] == "autoformation"


def test_patch_rechecks_r10(client, admin_h, tenant_a):
    url = f"/api/v1/sessions/{tenant_a.session_id}"
    body = regroupement(ORDER_START + timedelta(days=3)) | {"title": "Tutorat"}
    api_error(client.patch(url, json=body, headers=admin_h), 422, rule="R10")
    assert client.get(url, headers=admin_h).get_json()["kind"] == "tutorat"


def test_patch_with_only_the_changed_field(client, admin_h, tenant_a):
    """PATCH changes what is sent: a client sends the title alone."""
    url = f"/api/v1/sessions/{tenant_a.session_id}"
    before = client.get(url, headers=admin_h).get_json()
    answer = client.patch(url, json={"title": "Tutorat renommé"}, headers=admin_h)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {**before, "title": "Tutorat renommé"}
    longer = client.patch(
        url, json={"ends_at": paris(ORDER_START + timedelta(3), 12, 30)}, headers=admin_h
    )
    assert longer.status_code == 200, longer.get_json()
    assert longer.get_json()["starts_at"] == before["starts_at"]


# --- lists --------------------------------------------------------------------------------------


def test_group_sessions_page_through_every_session_once(client, admin_h, tenant_a):
    """Several sessions on one day too: the cursor compares instants, not strings."""
    slots = [(TUESDAY, 8, 9), (TUESDAY, 10, 11), (TUESDAY, 14, 15), (TUESDAY, 16, 17)]
    slots += [(TUESDAY + timedelta(days=1), 9, 12), (TUESDAY + timedelta(days=1), 13, 14)]
    for day, start, end in slots:
        answer = plan(client, admin_h, tenant_a.group_id, session_body(day, start, end))
        assert answer.status_code == 201
    url = f"/api/v1/groups/{tenant_a.group_id}/sessions"
    everything = [s["id"] for s in client.get(url, headers=admin_h).get_json()["items"]]
    assert len(everything) == 7
    seen: list[str] = []
    cursor = None
    while True:
        query = f"{url}?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=admin_h).get_json()
        seen.extend(s["id"] for s in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything, "every session once, in time order"


def test_sessions_in_a_date_range_for_the_trainee(app, client, admin_h, tenant_a):
    plan(client, admin_h, tenant_a.group_id, session_body(date(THIS_YEAR, 6, 2)))
    h = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    start = ORDER_START.isoformat()
    listed = client.get(f"/api/v1/sessions?start={start}&days=7", headers=h).get_json()
    assert [s["id"] for s in listed["items"]] == [tenant_a.session_id]
    june = client.get(f"/api/v1/sessions?start={THIS_YEAR}-06-01&days=7", headers=h).get_json()
    assert [s["starts_at"] for s in june["items"]] == [paris(date(THIS_YEAR, 6, 2), 9)]


def test_trainee_sees_the_sessions_of_its_group_only(app, client, tenant_a):
    h = bearer(app, tenant_a.trainee, dev=tenant_a.invitation_id)
    listed = client.get(f"/api/v1/groups/{tenant_a.group_id}/sessions", headers=h).get_json()
    assert [s["id"] for s in listed["items"]] == [tenant_a.session_id]
    api_error(plan(client, h, tenant_a.group_id, session_body(TUESDAY)), 403)


# --- edits of the group or the order re-check the sessions; R6 under concurrency ---------------


def test_r10_patch_group_start_away_from_its_welcome_day_is_422(client, admin_h, tenant_a):
    first = plan(client, admin_h, tenant_a.group_id, regroupement(ORDER_START, "accueil"))
    assert first.status_code == 201, first.get_json()
    url = f"/api/v1/groups/{tenant_a.group_id}"
    answer = client.patch(url, json={"start_date": TUESDAY.isoformat()}, headers=admin_h)
    error = api_error(answer, 422, "regroupement_not_allowed", "R10")
    assert ORDER_START.strftime("%d/%m/%Y") not in error["message"], "names the new first day"
    assert TUESDAY.strftime("%d/%m/%Y") in error["message"]
    assert client.get(url, headers=admin_h).get_json()["start_date"] is None
    same_day = client.patch(url, json={"start_date": ORDER_START.isoformat()}, headers=admin_h)
    assert same_day.status_code == 200, same_day.get_json()


def test_r6_patch_order_switching_to_hybrid_rechecks_the_cap(client, admin_h):
    group_id = new_group(client, admin_h, centre_hours=10.0)  # e_formation: 5 h
    body = session_body(TUESDAY, 9, 13, kind="autoformation")  # 4 h
    assert plan(client, admin_h, group_id, body).status_code == 201
    order_id = client.get(f"/api/v1/groups/{group_id}", headers=admin_h).get_json()["order_id"]
    url = f"/api/v1/orders/{order_id}"
    answer = client.patch(url, json={"modality": "hybride"}, headers=admin_h)  # 2 h
    api_error(answer, 422, "autoformation_cap", "R6")
    assert client.get(url, headers=admin_h).get_json()["modality"] == "e_formation"
    wider = {"modality": "hybride", "centre_hours": 20.0}
    assert client.patch(url, json=wider, headers=admin_h).status_code == 200


ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite ignores FOR UPDATE: R6 under races needs PG")
def test_r6_concurrent_plannings_cannot_both_pass_the_cap(app, admin_h):
    """8 plannings of 1 h of autoformation at once, with room for 2: the group row lock
    serialises them, so exactly 2 pass."""
    setup = app.test_client()
    group_id = new_group(setup, admin_h, modality="hybride", centre_hours=10.0)  # cap 2 h
    bodies = [
        session_body(TUESDAY + timedelta(days=n), 9, 10, kind="autoformation") for n in range(8)
    ]
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def run(body: dict) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        statuses.append(plan(client, admin_h, group_id, body).status_code)

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] * 2 + [422] * 6
    assert len(session_ids(setup, admin_h, group_id)) == 2


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite ignores FOR UPDATE: R6 under races needs PG")
def test_r6_concurrent_plannings_in_different_groups_of_one_order_cannot_pass_the_cap(app, admin_h):
    """8 plannings of 1 h of autoformation at once, one in each of 8 groups of one order with
    room for 2 h: the order's row lock serialises them across groups, so exactly 2 pass."""
    setup = app.test_client()
    first = new_group(setup, admin_h, modality="hybride", centre_hours=10.0)  # cap 2 h
    order_id = setup.get(f"/api/v1/groups/{first}", headers=admin_h).get_json()["order_id"]
    groups = [first] + [add_group(setup, admin_h, order_id) for _ in range(7)]
    barrier = threading.Barrier(len(groups))
    statuses: list[int] = []

    def run(group_id: str, n: int) -> None:
        client = app.test_client()
        body = session_body(TUESDAY + timedelta(days=n), 9, 10, kind="autoformation")
        barrier.wait(timeout=30)
        statuses.append(plan(client, admin_h, group_id, body).status_code)

    threads = [threading.Thread(target=run, args=(g, n)) for n, g in enumerate(groups)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] * 2 + [422] * 6
    assert sum(len(session_ids(setup, admin_h, g)) for g in groups) == 2
