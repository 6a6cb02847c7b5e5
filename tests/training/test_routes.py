"""Training data through the API: orders, groups, trainees, enrolments (R1–R4), pages of lists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.models import Role
from tests.conftest import (
    ORDER_START,
    THIS_YEAR,
    api_error,
    bearer,
    make_org,
    make_trainee,
    make_user,
    order_data,
    paris,
)


@pytest.fixture
def admin_h(app, tenant_a):
    return bearer(app, tenant_a.admin)


def new_group(client, headers, order_id: str, **fields: object) -> dict:  # noqa: ANN001
    body = {"name": "Groupe B", "component": "Anglais", "trainer_ids": [], **fields}
    answer = client.post(f"/api/v1/orders/{order_id}/groups", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def new_trainee(client, headers, n: int = 0) -> dict:  # noqa: ANN001
    body = {"first_name": "Léa", "last_name": f"Fabre{n}", "email": f"lea{n}@exemple.fr"}
    answer = client.post("/api/v1/trainees", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def enrolment_body(trainee_id: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "trainee_id": trainee_id,
        "entry_date": ORDER_START.isoformat(),
        "planned_centre_hours": 100,
        "planned_company_hours": 20,
    }
    body.update(overrides)
    return body


def enrolment_ids(client, headers, group_id: str) -> list[str]:  # noqa: ANN001
    listed = client.get(f"/api/v1/groups/{group_id}/enrolments", headers=headers).get_json()
    return [e["id"] for e in listed["items"]]


# --- creating the training data ----------------------------------------------------------------


def test_admin_creates_order_group_trainee_and_enrolment(app, client):
    org = make_org("Epsilon")
    admin, trainer = make_user(Role.ORG_ADMIN, org), make_user(Role.TRAINER, org)
    h = bearer(app, admin)
    sent = order_data(number="BC-2026-001", centre_hours=140.0)
    order = client.post("/api/v1/orders", json=sent, headers=h)
    assert order.status_code == 201
    order = order.get_json()
    assert {k: order[k] for k in sent} == sent
    assert order["organisation_id"] == org.id
    assert isinstance(order["id"], str)

    group = new_group(client, h, order["id"], trainer_ids=[trainer.id])
    assert (group["order_id"], group["trainer_ids"]) == (order["id"], [trainer.id])

    trainee = new_trainee(client, h)
    assert (trainee["first_name"], trainee["organisation_id"]) == ("Léa", org.id)

    answer = client.post(
        f"/api/v1/groups/{group['id']}/enrolments", json=enrolment_body(trainee["id"]), headers=h
    )
    assert answer.status_code == 201
    enrolment = answer.get_json()
    assert enrolment["trainee_id"] == trainee["id"]
    assert enrolment["entry_date"] == ORDER_START.isoformat()
    assert enrolment["planned_centre_hours"] == 100
    assert enrolment["warnings"] == []
    assert client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=h).status_code == 200


def test_trainer_sees_the_order_of_its_group_but_cannot_create_one(app, client, tenant_a):
    h = bearer(app, tenant_a.trainer)
    api_error(client.post("/api/v1/orders", json=order_data(), headers=h), 403, "forbidden")
    listed = client.get("/api/v1/orders", headers=h).get_json()
    assert [o["id"] for o in listed["items"]] == [tenant_a.order_id]


def test_finance_reads_orders_but_cannot_create_trainees(app, client, tenant_a):
    h = bearer(app, tenant_a.finance)
    assert client.get(f"/api/v1/orders/{tenant_a.order_id}", headers=h).status_code == 200
    body = {"first_name": "A", "last_name": "B", "email": "a@exemple.fr"}
    api_error(client.post("/api/v1/trainees", json=body, headers=h), 403)


def test_order_ending_before_its_start_is_400(client, admin_h):
    body = order_data(start_date=f"{THIS_YEAR}-06-01", end_date=f"{THIS_YEAR}-05-31")
    api_error(client.post("/api/v1/orders", json=body, headers=admin_h), 400, "invalid_dates")


def test_duplicate_order_number_is_409(client, admin_h):
    body = order_data(number="BC-X")
    assert client.post("/api/v1/orders", json=body, headers=admin_h).status_code == 201
    api_error(
        client.post("/api/v1/orders", json=body, headers=admin_h), 409, "duplicate_order_number"
    )


def test_patch_order_changes_only_what_is_sent(client, admin_h, tenant_a):
    url = f"/api/v1/orders/{tenant_a.order_id}"
    before = client.get(url, headers=admin_h).get_json()
    answer = client.patch(url, json={"title": "Anglais B1"}, headers=admin_h)
    assert answer.status_code == 200
    assert answer.get_json() == {**before, "title": "Anglais B1"}


def test_group_with_a_trainer_of_another_organisation_is_refused(app, client, admin_h, tenant_a):
    outsider = make_user(Role.TRAINER, make_org("Zeta"))
    body = {"name": "Groupe Z", "component": "Anglais", "trainer_ids": [outsider.id]}
    answer = client.post(f"/api/v1/orders/{tenant_a.order_id}/groups", json=body, headers=admin_h)
    error = api_error(answer, 400, "unknown_trainer")
    assert outsider.id not in error["message"]
    listed = client.get(f"/api/v1/orders/{tenant_a.order_id}/groups", headers=admin_h).get_json()
    assert [g["id"] for g in listed["items"]] == [tenant_a.group_id]


def test_duplicate_trainee_email_is_409(client, admin_h):
    new_trainee(client, admin_h, 7)
    body = {"first_name": "Léa", "last_name": "Autre", "email": "LEA7@exemple.fr"}
    api_error(client.post("/api/v1/trainees", json=body, headers=admin_h), 409, "duplicate_email")


# --- R1–R4 at enrolment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "rule", "words"),
    [
        ({"planned_centre_hours": 150, "planned_company_hours": 50.5}, "R1", "200 h"),
        ({"planned_centre_hours": 100, "planned_company_hours": 71}, "R2", "70 h"),
        ({"entry_date": (ORDER_START - timedelta(days=1)).isoformat()}, "R4", "bon de commande"),
    ],
)
def test_enrolment_refused_by_a_rule_is_422_and_stores_nothing(
    client, admin_h, tenant_a, overrides, rule, words
):
    trainee = new_trainee(client, admin_h)
    before = enrolment_ids(client, admin_h, tenant_a.group_id)
    answer = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/enrolments",
        json=enrolment_body(trainee["id"], **overrides),
        headers=admin_h,
    )
    error = api_error(answer, 422, rule=rule)
    assert words in error["message"]
    assert enrolment_ids(client, admin_h, tenant_a.group_id) == before


def test_r1_exactly_200_hours_is_accepted(client, admin_h, tenant_a):
    trainee = new_trainee(client, admin_h)
    body = enrolment_body(trainee["id"], planned_centre_hours=130, planned_company_hours=70)
    answer = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/enrolments", json=body, headers=admin_h
    )
    assert answer.status_code == 201


def test_r4_entry_in_the_year_after_the_order_start_is_422(client, admin_h):
    order = client.post(
        "/api/v1/orders",
        json=order_data(start_date=f"{THIS_YEAR}-09-01", end_date=f"{THIS_YEAR + 1}-06-30"),
        headers=admin_h,
    ).get_json()
    group = new_group(client, admin_h, order["id"])
    trainee = new_trainee(client, admin_h)
    url = f"/api/v1/groups/{group['id']}/enrolments"
    late = enrolment_body(trainee["id"], entry_date=f"{THIS_YEAR + 1}-01-04")
    error = api_error(client.post(url, json=late, headers=admin_h), 422, "entry_out_of_year", "R4")
    assert str(THIS_YEAR) in error["message"]
    in_time = enrolment_body(trainee["id"], entry_date=f"{THIS_YEAR}-12-31")
    assert client.post(url, json=in_time, headers=admin_h).status_code == 201


def test_r3_twenty_first_trainee_is_422_then_201_when_acknowledged(app, client, admin_h, tenant_a):
    url = f"/api/v1/groups/{tenant_a.group_id}/enrolments"
    for index in range(19):  # tenant_a already has one trainee in the group
        trainee = make_trainee(tenant_a.org)
        funding = "other" if index % 2 else "region"
        body = enrolment_body(trainee.id, funding=funding)
        assert client.post(url, json=body, headers=admin_h).status_code == 201
    extra = make_trainee(tenant_a.org)
    error = api_error(
        client.post(url, json=enrolment_body(extra.id), headers=admin_h), 422, "group_full", "R3"
    )
    assert "21" in error["message"]
    assert len(enrolment_ids(client, admin_h, tenant_a.group_id)) == 20
    acknowledged = enrolment_body(extra.id, confirm_over_capacity=True)
    answer = client.post(url, json=acknowledged, headers=admin_h)
    assert answer.status_code == 201
    assert answer.get_json()["warnings"] == ["R3"]
    assert len(enrolment_ids(client, admin_h, tenant_a.group_id)) == 21


def test_duplicate_enrolment_is_409(client, admin_h, tenant_a):
    body = enrolment_body(tenant_a.trainee.id)
    answer = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/enrolments", json=body, headers=admin_h
    )
    api_error(answer, 409, "already_enrolled")


def test_enrolling_a_trainee_of_another_organisation_is_404(client, admin_h, tenant_a, tenant_b):
    body = enrolment_body(tenant_b.trainee.id)
    answer = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/enrolments", json=body, headers=admin_h
    )
    error = api_error(answer, 404)
    assert tenant_b.trainee.id not in str(error)


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b'{"number": "BC-1",}',
        b"[1, 2",
    ],
)
def test_malformed_json_is_400_invalid_input(client, admin_h, payload):
    headers = {**admin_h, "Content-Type": "application/json"}
    api_error(client.post("/api/v1/orders", data=payload, headers=headers), 400, "invalid_input")


def test_unknown_field_is_400_invalid_input_and_names_the_field(client, admin_h):
    answer = client.post("/api/v1/orders", json={**order_data(), "price": 10}, headers=admin_h)
    error = api_error(answer, 400, "invalid_input")
    assert "price" in str(error.get("details"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"modality": "magie"},
        {"centre_hours": "beaucoup"},
        {"start_date": "31/01/2026"},
        {"min_synchronous_share": 1.5},
    ],
)
def test_invalid_order_fields_are_400(client, admin_h, overrides):
    body = order_data(**overrides)
    api_error(client.post("/api/v1/orders", json=body, headers=admin_h), 400, "invalid_input")
    listed = client.get("/api/v1/orders", headers=admin_h).get_json()["items"]
    assert body["number"] not in [o["number"] for o in listed]


def test_missing_required_field_is_400(client, admin_h, tenant_a):
    answer = client.post(
        f"/api/v1/groups/{tenant_a.group_id}/enrolments",
        json={"trainee_id": tenant_a.trainee.id},
        headers=admin_h,
    )
    error = api_error(answer, 400, "invalid_input")
    assert "entry_date" in str(error["details"])


def test_unknown_field_in_a_patch_is_400(client, admin_h, tenant_a):
    answer = client.patch(
        f"/api/v1/trainees/{tenant_a.trainee.id}", json={"nir": "1234"}, headers=admin_h
    )
    api_error(answer, 400, "invalid_input")


# --- pagination ---------------------------------------------------------------------------------


def walk_pages(client, url: str, headers) -> list[str]:  # noqa: ANN001
    """Follow next_cursor with ?limit=1 and collect every id seen."""
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        sep = "&" if "?" in url else "?"
        query = f"{url}{sep}limit=1" + (f"&cursor={cursor}" if cursor else "")
        answer = client.get(query, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        assert len(page["items"]) <= 1
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination never ended")


@pytest.fixture
def busy_tenant(app, client, tenant_a, admin_h):
    """tenant_a with three orders, three groups, four trainees and four enrolments."""
    for n in range(2):
        order = client.post(
            "/api/v1/orders",
            json=order_data(start_date=f"{THIS_YEAR}-02-0{n + 1}"),
            headers=admin_h,
        ).get_json()
        new_group(client, admin_h, tenant_a.order_id, name=f"Groupe {n}")
        new_group(client, admin_h, order["id"])
    for n in range(3):
        trainee = new_trainee(client, admin_h, n)
        client.post(
            f"/api/v1/groups/{tenant_a.group_id}/enrolments",
            json=enrolment_body(trainee["id"], entry_date=f"{THIS_YEAR}-03-0{n + 1}"),
            headers=admin_h,
        )
    return tenant_a


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/v1/orders", 3),
        ("/api/v1/groups", 5),
        ("/api/v1/trainees", 4),
        ("/api/v1/enrolments", 4),
        ("/api/v1/orders/{order_id}/groups", 3),
        ("/api/v1/groups/{group_id}/enrolments", 4),
    ],
)
def test_pagination_returns_every_item_exactly_once(client, admin_h, busy_tenant, url, expected):
    url = url.format(order_id=busy_tenant.order_id, group_id=busy_tenant.group_id)
    everything = client.get(url, headers=admin_h).get_json()
    assert everything["next_cursor"] is None
    all_ids = [item["id"] for item in everything["items"]]
    assert len(all_ids) == expected
    paged = walk_pages(client, url, admin_h)
    assert sorted(paged) == sorted(all_ids)
    assert len(set(paged)) == len(paged)


def test_invitations_page_through_every_invitation_once(client, admin_h, tenant_a):
    url = f"/api/v1/trainees/{tenant_a.trainee.id}/invitations"
    issued = [client.post(url, headers=admin_h).get_json()["id"] for _ in range(3)]
    paged = walk_pages(client, url, admin_h)
    assert sorted(paged) == sorted([tenant_a.invitation_id, *issued])
    assert paged == [tenant_a.invitation_id, *issued], "oldest first"


def test_a_forged_cursor_is_400(client, admin_h, tenant_a):
    answer = client.get("/api/v1/orders?cursor=not-a-cursor", headers=admin_h)
    api_error(answer, 400, "invalid_cursor")


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc"])
def test_out_of_range_limit_is_400(client, admin_h, tenant_a, limit):
    api_error(client.get(f"/api/v1/orders?limit={limit}", headers=admin_h), 400, "invalid_input")


# --- invitations listing ----------------------------------------------------------------------


def test_invitations_of_a_trainee_are_listed_with_their_status(client, admin_h, tenant_a):
    url = f"/api/v1/trainees/{tenant_a.trainee.id}/invitations"
    assert client.post(url, headers=admin_h).status_code == 201
    items = client.get(url, headers=admin_h).get_json()["items"]
    assert sorted(i["status"] for i in items) == ["bound", "pending"]
    assert all("code" not in i for i in items), "codes are shown once, never listed"


def test_group_start_outside_the_order_is_400(client, admin_h, tenant_a):
    answer = client.patch(
        f"/api/v1/groups/{tenant_a.group_id}",
        json={"start_date": date(THIS_YEAR + 1, 1, 5).isoformat()},
        headers=admin_h,
    )
    api_error(answer, 400, "invalid_dates")
    group = client.get(f"/api/v1/groups/{tenant_a.group_id}", headers=admin_h).get_json()
    assert group["start_date"] is None


# --- PATCH of an order re-checks what is planned under it (R4, R6, R10, session dates) --------

NINTH_DAY = ORDER_START + timedelta(days=8)
ACCUEIL = {"kind": "regroupement", "regroupement_reason": "accueil"}


def plan(client, headers, group_id: str, day: date, hours=(9, 12), **fields: object) -> dict:  # noqa: ANN001
    """Plan a session (a tutorat unless told) of the group, on `day` between `hours` (Paris)."""
    body = {"kind": "tutorat", "title": "Séance", **fields}
    body |= {"starts_at": paris(day, hours[0]), "ends_at": paris(day, hours[1])}
    answer = client.post(f"/api/v1/groups/{group_id}/sessions", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def patch_order_refused(client, headers, order_id: str, body: dict):  # noqa: ANN001, ANN201
    """PATCH the order; the answer, once checked that GET still shows the order as it was."""
    url = f"/api/v1/orders/{order_id}"
    before = client.get(url, headers=headers).get_json()
    answer = client.patch(url, json=body, headers=headers)
    assert client.get(url, headers=headers).get_json() == before
    return answer


def test_r6_patch_order_lowering_centre_hours_below_planned_autoformation_is_422(
    client, admin_h, tenant_a
):
    # tenant_a: e_formation, 100 centre hours; 12 h of autoformation need 24 h (50 %).
    plan(client, admin_h, tenant_a.group_id, NINTH_DAY, (8, 20), kind="autoformation")
    answer = patch_order_refused(client, admin_h, tenant_a.order_id, {"centre_hours": 23})
    error = api_error(answer, 422, "autoformation_cap", "R6")
    assert "50 %" in error["message"]
    assert "12 h sont déjà prévues" in error["message"]
    hybrid = {"modality": "hybride", "centre_hours": 59}  # 20 % of 59 h = 11.8 h
    answer = patch_order_refused(client, admin_h, tenant_a.order_id, hybrid)
    assert "20 %" in api_error(answer, 422, "autoformation_cap", "R6")["message"]
    url = f"/api/v1/orders/{tenant_a.order_id}"
    assert client.patch(url, json={"centre_hours": 24}, headers=admin_h).status_code == 200


def test_r10_patch_order_to_e_formation_with_a_regroupement_without_reason_is_422(client, admin_h):
    body = order_data(modality="presentiel")
    order = client.post("/api/v1/orders", json=body, headers=admin_h).get_json()
    group = new_group(client, admin_h, order["id"])
    plan(client, admin_h, group["id"], NINTH_DAY, kind="regroupement")
    answer = patch_order_refused(client, admin_h, order["id"], {"modality": "e_formation"})
    error = api_error(answer, 422, "regroupement_not_allowed", "R10")
    assert "accueil" in error["message"]


def test_r10_patch_order_start_away_from_the_welcome_day_is_422(client, admin_h, tenant_a):
    plan(client, admin_h, tenant_a.group_id, ORDER_START, **ACCUEIL)
    earlier = {"start_date": (ORDER_START - timedelta(days=1)).isoformat()}
    answer = patch_order_refused(client, admin_h, tenant_a.order_id, earlier)
    api_error(answer, 422, "regroupement_not_allowed", "R10")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"start_date": f"{THIS_YEAR + 1}-01-05", "end_date": f"{THIS_YEAR + 1}-11-30"},
            "entry_out_of_year",
        ),
        ({"start_date": (ORDER_START + timedelta(days=1)).isoformat()}, "entry_outside_order"),
    ],
    ids=["next-year", "after-entry"],
)
def test_r4_patch_order_start_past_an_entry_date_is_422(client, admin_h, tenant_a, body, code):
    # tenant_a's trainee entered on the order's first day.
    answer = patch_order_refused(client, admin_h, tenant_a.order_id, body)
    assert "entrée" in api_error(answer, 422, code, "R4")["message"]


def test_patch_order_end_before_a_planned_session_is_400_session_outside_order(
    client, admin_h, tenant_a
):
    # tenant_a's session is on the order's fourth day.
    end = {"end_date": (ORDER_START + timedelta(days=2)).isoformat()}
    answer = patch_order_refused(client, admin_h, tenant_a.order_id, end)
    assert "séance" in api_error(answer, 400, "session_outside_order")["message"]


def test_patch_order_leaving_a_group_start_outside_is_400(client, admin_h, tenant_a):
    new_group(client, admin_h, tenant_a.order_id, start_date=f"{THIS_YEAR}-11-02")
    end = {"end_date": f"{THIS_YEAR}-10-31"}
    answer = patch_order_refused(client, admin_h, tenant_a.order_id, end)
    api_error(answer, 400, "invalid_dates")


def test_valid_patch_of_the_order_plan_is_stored(client, admin_h, tenant_a):
    plan(client, admin_h, tenant_a.group_id, ORDER_START, **ACCUEIL)
    plan(client, admin_h, tenant_a.group_id, NINTH_DAY, (8, 20), kind="autoformation")
    url = f"/api/v1/orders/{tenant_a.order_id}"
    before = client.get(url, headers=admin_h).get_json()
    body = {"modality": "hybride", "centre_hours": 60.0, "end_date": f"{THIS_YEAR}-06-30"}
    answer = client.patch(url, json=body, headers=admin_h)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {**before, **body}
    assert client.get(url, headers=admin_h).get_json() == {**before, **body}
