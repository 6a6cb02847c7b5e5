"""A first pass through the API as an organisation admin (R1, R4, R6)."""

from tests.conftest import bearer, order_data


def test_admin_builds_an_order_and_sees_it(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    listed = client.get("/api/v1/orders", headers=h).get_json()
    assert [o["id"] for o in listed["items"]] == [tenant_a.order_id]
    assert listed["next_cursor"] is None
    sessions = client.get(f"/api/v1/groups/{tenant_a.group_id}/sessions", headers=h).get_json()
    assert sessions["items"][0]["kind"] == "tutorat"
    assert sessions["items"][0]["starts_at"].endswith("+01:00")


def test_bad_order_is_400_with_french_message(app, client, tenant_a):
    h = bearer(app, tenant_a.admin)
    answer = client.post("/api/v1/orders", json=order_data(modality="magie"), headers=h)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_input"
