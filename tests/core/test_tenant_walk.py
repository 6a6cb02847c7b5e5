"""The tenant-isolation walk: every route of the app, called on tenant_b's data by tenant_a.

The routes come from `app.url_map` and the request bodies from the OpenAPI description, so a
route added later is walked without editing this file. Ids in URLs and bodies point at
tenant_b's objects; tenant_a's staff and trainee, and an anonymous caller, must never get
them: no 2xx on tenant_b's objects, never one of tenant_b's ids, names or emails in a body,
and nothing of tenant_b changed afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.db import new_id
from core.extensions import db as _db
from tests.conftest import ORDER_START, PASSWORD, Tenant, bearer, paris

API = "/api/v1"
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Routes anyone may call: the contract's public entry points (API.md).
PUBLIC_API = {
    ("POST", f"{API}/auth/login"),
    ("POST", f"{API}/auth/trainee"),
    ("GET", f"{API}/openapi.json"),
    ("GET", f"{API}/docs"),  # the document's page for people, and its scripts and styles
    ("GET", f"{API}/docs/assets/<filename>"),
    ("GET", f"{API}/health/live"),  # liveness probe, answers {"status": "ok"}, touches nothing
    ("GET", f"{API}/health"),  # what works: the database and Redis, nothing of a tenant
    ("POST", f"{API}/sign-ins"),  # "anyone with {code}" (API.md, Attendance)
    ("POST", f"{API}/sign-outs"),
    ("POST", f"{API}/company-tutor/period"),  # a company tutor has no account: a code (R2)
    ("POST", f"{API}/company-tutor/signatures"),
}
# What an anonymous caller gets from a public route with the walk's body (no valid code, no QR,
# at most tenant_b's session id): the liveness probe answers; signing refuses with 400.
PUBLIC_ANSWERS = {
    ("GET", f"{API}/health/live"): {200},
    ("GET", f"{API}/health"): {200},
    ("GET", f"{API}/openapi.json"): {200},
    ("GET", f"{API}/docs"): {200},
    ("GET", f"{API}/docs/assets/<filename>"): {404},  # the walk's ids are no asset's name
    ("POST", f"{API}/sign-ins"): {400},
    ("POST", f"{API}/sign-outs"): {400},
    ("POST", f"{API}/company-tutor/period"): {400},  # the walk's code is no tutor's code
    ("POST", f"{API}/company-tutor/signatures"): {400},
}
# The public certificate check (API.md: GET /certificates/{id}/verify); not /ledger/verify.
PUBLIC_VERIFY = re.compile(rf"^{API}/certificates/<[^<>]+>/verify$")
# Pages anyone may open: staff login, invitation, and the signing pages a QR code or a site PC
# opens (the page twin of "POST /sign-ins: anyone with {code}"), and the certificates' public
# check that their QR code opens (the page twin of GET /certificates/{id}/verify).
PUBLIC_PAGES = {
    "/connexion",
    "/invitation",
    "/emarger",
    "/code",
    "/verifier",
    "/verifier/<short_id>",
    "/tuteur",  # a company tutor types their code there (the page twin of /company-tutor/*)
}
REFUSALS = {400, 401, 403, 404, 405, 409, 410, 422, 429}
B_DAY = ORDER_START + timedelta(days=3)  # the day of tenant_b's session (see conftest)
QUERY = f"start={B_DAY.isoformat()}&days=31&date={B_DAY.isoformat()}&month={B_DAY:%Y-%m}"
FIELD_VALUES: dict[str, Any] = {
    "role": "trainer",
    "password": "un mot de passe solide",
    "kind": "tutorat",
    "email": "walk@example.fr",
}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@dataclass
class Target:
    """tenant_b, as ids to put in URLs and bodies, and as text that must never leak."""

    tenant: Tenant
    ids: dict[str, str]
    secrets: list[str]
    patterns: list[re.Pattern[str]]

    @classmethod
    def of(cls, tenant: Tenant, authorisation_id: str) -> Target:
        ids = {
            "organisation_id": tenant.org.id,
            "order_id": tenant.order_id,
            "group_id": tenant.group_id,
            "trainee_id": tenant.trainee.id,
            "enrolment_id": tenant.enrolment_id,
            "session_id": tenant.session_id,
            "invitation_id": tenant.invitation_id,
            "user_id": tenant.admin.id,
            "trainer_id": tenant.trainer.id,
            "authorisation_id": authorisation_id,
        }
        staff = (tenant.admin, tenant.trainer, tenant.finance)
        secrets = [*ids.values(), tenant.finance.id, tenant.trainee.email]
        secrets += [user.email for user in staff]
        words = [tenant.trainee.full_name, tenant.org.name, tenant.org.siret]
        words += [user.last_name for user in staff] + [tenant.trainee.last_name]
        patterns = [re.compile(rf"(?<![\w]){re.escape(word)}(?![\w])") for word in words]
        return cls(tenant, ids, secrets, patterns)

    def id_for(self, name: str) -> str:
        """tenant_b's object for a `*_id` name; else any row of tenant_b; else a random id."""
        if name in self.ids:
            return self.ids[name]
        stem = name.removesuffix("_id")
        owners = {
            "organisation_id": self.tenant.org.id,
            "session_id": self.tenant.session_id,
            "group_id": self.tenant.group_id,
            "trainee_id": self.tenant.trainee.id,
            "enrolment_id": self.tenant.enrolment_id,
            "order_id": self.tenant.order_id,
        }
        for table in _db.metadata.sorted_tables:
            named = table.name == stem or table.name.endswith(f"_{stem}")
            if not named or "id" not in table.c:
                continue
            for column, value in owners.items():
                if column in table.c:
                    found = _db.session.scalar(
                        select(table.c.id).where(table.c[column] == value).limit(1)
                    )
                    if found:
                        return str(found)
        return new_id()

    def leaks(self, text: str) -> list[str]:
        found = [secret for secret in self.secrets if secret in text]
        return found + [p.pattern for p in self.patterns if p.search(text)]


def response_text(response) -> str:  # noqa: ANN001
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    return response.get_data().decode("utf-8", "replace")


def assert_no_leak(target: Target, response, where: str, sent: str = "") -> None:  # noqa: ANN001
    """No id, name or email of tenant_b in the answer.

    A redirect may repeat an id the caller itself sent in the URL (`sent`): that tells nothing
    new; the page it leads to is checked in full by the caller.
    """
    text = response_text(response) + " " + response.headers.get("Location", "")
    leaks = target.leaks(text)
    if 300 <= response.status_code < 400:
        leaks = [leak for leak in leaks if leak not in sent]
    assert not leaks, f"{where} shows tenant_b's data: {leaks}"


# --- building requests ------------------------------------------------------------------------


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(spec: dict, target: Target, name: str, prop: dict) -> Any:
    prop = resolve(spec, prop)
    if name in FIELD_VALUES:
        return FIELD_VALUES[name]
    if name.endswith("_ids"):
        return [target.id_for(name[:-1])]
    if name.endswith("_id"):
        return target.id_for(name)
    if prop.get("enum"):
        return next(value for value in prop["enum"] if value is not None)
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind in ("integer", "number"):
        return max(1, prop.get("minimum", 1))
    values = {"array": [], "object": {}, "boolean": False}
    if kind in values:
        return values[kind]
    formats = {
        "date": B_DAY.isoformat(),
        "date-time": paris(B_DAY, 15 if "end" in name else 14),
        "email": "walk@example.fr",
    }
    return formats.get(str(prop.get("format")), "Essai de parcours")


def body_for(spec: dict, target: Target, method: str, path: str) -> dict | None:
    """A body that passes validation where it can: required fields, and every `*_id(s)`."""
    operation = spec["paths"].get(openapi_path(path), {}).get(method.lower())
    content = (operation or {}).get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None if method == "GET" else {}
    schema = resolve(spec, content["application/json"]["schema"])
    wanted = set(schema.get("required", []))
    wanted |= {n for n in schema.get("properties", {}) if n.endswith(("_id", "_ids"))}
    return {
        name: sample(spec, target, name, prop)
        for name, prop in schema.get("properties", {}).items()
        if name in wanted and not prop.get("readOnly")
    }


def url_for_target(rule, target: Target) -> str:  # noqa: ANN001
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter and converter.startswith("int"):
            return "1"
        return target.id_for(name) if name.endswith("_id") else "essai"

    return re.sub(r"<(?:([^:<>]+):)?([^<>]+)>", value, rule.rule)


def routes(app, *, api: bool):  # noqa: ANN001, ANN201
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue  # public assets, served without a session
        if rule.rule.startswith("/api/") != api:
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method


def call(client, method: str, url: str, headers=None, body=None, form=None):  # noqa: ANN001, ANN201
    if method == "GET":
        url = f"{url}{'&' if '?' in url else '?'}{QUERY}"
    return client.open(url, method=method, headers=headers or {}, json=body, data=form)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def target(app, client, tenant_a, tenant_b, region) -> Target:
    """tenant_b, with a Région authorisation on its group so that more of its rows exist."""
    answer = client.post(
        f"{API}/groups/{tenant_b.group_id}/regroupement-authorisations",
        json={"session_date": B_DAY.isoformat(), "reason": "Visite d'entreprise"},
        headers=bearer(app, region),
    )
    assert answer.status_code == 201, answer.get_json()
    _company_period(app, client, tenant_b)
    return Target.of(tenant_b, answer.get_json()["id"])


def _company_period(app, client, tenant: Tenant) -> None:  # noqa: ANN001
    """A company period of tenant_b's trainee (R2), with hours when their days are past."""
    h = bearer(app, tenant.admin)
    first = ORDER_START + timedelta(days=7)
    period = {
        "company_name": "Scierie du Bêta",
        "tutor_name": "Tuteur Bêta",
        "tutor_email": "tuteur.beta@example.fr",
        "start_date": first.isoformat(),
        "end_date": (first + timedelta(days=13)).isoformat(),
        "planned_hours": 20,
    }
    url = f"{API}/enrolments/{tenant.enrolment_id}/company-periods"
    answer = client.post(url, json=period, headers=h)
    assert answer.status_code == 201, answer.get_json()
    if first < date.today():
        line = {"first_day": first.isoformat(), "last_day": first.isoformat(), "hours": 7}
        hours = client.post(
            f"{API}/company-periods/{answer.get_json()['id']}/hours", json=line, headers=h
        )
        assert hours.status_code == 201, hours.get_json()


def snapshot(app, client, tenant: Tenant) -> dict[str, Any]:
    """What tenant_b's own admin and trainee see of its data."""
    h = bearer(app, tenant.admin)
    urls = [
        f"{API}/orders/{tenant.order_id}",
        f"{API}/groups/{tenant.group_id}",
        f"{API}/trainees/{tenant.trainee.id}",
        f"{API}/trainees/{tenant.trainee.id}/invitations",
        f"{API}/enrolments/{tenant.enrolment_id}",
        f"{API}/sessions/{tenant.session_id}",
        f"{API}/groups/{tenant.group_id}/sessions",
        f"{API}/groups/{tenant.group_id}/enrolments",
        f"{API}/orders",
        f"{API}/trainees",
    ]
    seen = {}
    for url in urls:
        answer = client.get(url, headers=h)
        seen[url] = (answer.status_code, answer.get_json())
    me = client.get(f"{API}/me", headers=bearer(app, tenant.trainee, dev=tenant.invitation_id))
    seen["trainee"] = me.status_code
    assert seen[f"{API}/orders/{tenant.order_id}"][0] == 200, "tenant_b sees its own order"
    assert seen["trainee"] == 200, "tenant_b's trainee is signed in"
    return seen


def callers(app, tenant: Tenant) -> dict[str, dict[str, str]]:
    return {
        "org_admin": bearer(app, tenant.admin),
        "trainer": bearer(app, tenant.trainer),
        "finance": bearer(app, tenant.finance),
        "trainee": bearer(app, tenant.trainee, dev=tenant.invitation_id),
    }


# --- the walk ---------------------------------------------------------------------------------


def test_api_walk_never_gives_tenant_b_to_tenant_a_or_to_anyone(app, client, tenant_a, target):
    spec = client.get(f"{API}/openapi.json").get_json()
    before = snapshot(app, client, target.tenant)
    walked = 0
    for rule, method in routes(app, api=True):
        url = url_for_target(rule, target)
        body = body_for(spec, target, method, rule.rule)
        targets_b = bool(rule.arguments)
        where = f"{method} {rule.rule}"
        for role, headers in callers(app, tenant_a).items():
            answer = call(client, method, url, headers, body)
            status = answer.status_code
            if targets_b:
                assert status in REFUSALS, f"{where} as tenant_a {role}: {status}"
                if method == "GET":
                    assert status in (403, 404), f"{where} as tenant_a {role}: {status}"
            else:
                assert status < 500, f"{where} as tenant_a {role}: {status}"
            assert_no_leak(target, answer, f"{where} as tenant_a {role}")
        anonymous = call(client, method, url, None, body)
        if (method, rule.rule) in PUBLIC_API or PUBLIC_VERIFY.match(rule.rule):
            assert anonymous.status_code < 500, where
            allowed = PUBLIC_ANSWERS.get((method, rule.rule))
            assert allowed is None or anonymous.status_code in allowed, (
                f"{where} anonymously: {anonymous.status_code}"
            )
        else:
            assert anonymous.status_code == 401, f"{where} anonymously: {anonymous.status_code}"
            assert set(anonymous.get_json()) == {"error"}
        assert_no_leak(target, anonymous, f"{where} anonymously")
        walked += 1
    assert walked > 30, f"only {walked} route/method pairs walked"
    assert snapshot(app, client, target.tenant) == before, "tenant_b's data changed"


def test_walk_bodies_reach_the_ownership_check(app, client, tenant_a, target):
    """The generated bodies are valid enough that tenant_b's ids, not validation, refuse them."""
    spec = client.get(f"{API}/openapi.json").get_json()
    h = bearer(app, tenant_a.admin)
    for path in (
        "/api/v1/groups/<group_id>/enrolments",
        "/api/v1/groups/<group_id>/sessions",
        "/api/v1/orders/<order_id>/groups",
        "/api/v1/users",
    ):
        body = body_for(spec, target, "POST", path)
        url = path.replace("<group_id>", target.tenant.group_id)
        url = url.replace("<order_id>", target.tenant.order_id)
        answer = client.post(url, json=body, headers=h)
        assert answer.status_code == 404, (path, body, answer.get_json())


def test_anonymous_pages_send_to_login_and_show_nothing(app, client, target):
    walked = 0
    for rule, method in routes(app, api=False):
        url = url_for_target(rule, target)
        answer = call(client, method, url, form={})
        where = f"{method} {rule.rule} anonymously"
        assert answer.status_code < 500, where
        if rule.rule not in PUBLIC_PAGES:
            if 300 <= answer.status_code < 400:
                assert "/connexion" in answer.headers["Location"], where
            else:
                assert answer.status_code in (400, 401, 403, 404, 405), where
        assert_no_leak(target, answer, where, sent=url)
        walked += 1
    assert walked >= 5


def staff_cookie_client(app, user):  # noqa: ANN001, ANN201
    browser = app.test_client()
    answer = browser.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code in (302, 303), answer.status_code
    return browser


def trainee_cookie_client(app, client, tenant: Tenant):  # noqa: ANN001, ANN201
    h = bearer(app, tenant.admin)
    code = client.post(f"{API}/trainees/{tenant.trainee.id}/invitations", headers=h).get_json()
    browser = app.test_client()
    answer = browser.post("/invitation", data={"code": code["code"]})
    assert answer.status_code in (302, 303), answer.status_code
    return browser


def test_page_walk_with_tenant_a_cookies_never_shows_tenant_b(app, client, tenant_a, target):
    before = snapshot(app, client, target.tenant)
    browsers = {
        "org_admin": staff_cookie_client(app, tenant_a.admin),
        "trainer": staff_cookie_client(app, tenant_a.trainer),
        "finance": staff_cookie_client(app, tenant_a.finance),
        "trainee": trainee_cookie_client(app, client, tenant_a),
    }
    walked = 0
    for rule, method in routes(app, api=False):
        if rule.endpoint == "pages.logout":
            continue  # would end the cookie session; anonymous walk covers it
        url = url_for_target(rule, target)
        for role, browser in browsers.items():
            answer = call(browser, method, url, form={})
            where = f"{method} {rule.rule} as tenant_a {role}"
            assert answer.status_code < 500, where
            if rule.arguments:
                assert not 200 <= answer.status_code < 300, f"{where}: {answer.status_code}"
            assert_no_leak(target, answer, where, sent=url)
            if 300 <= answer.status_code < 400:
                followed = browser.get(answer.headers["Location"])
                assert_no_leak(target, followed, f"{where}, after the redirect")
        walked += 1
    assert walked >= 5
    assert snapshot(app, client, target.tenant) == before, "tenant_b's data changed"


# --- lists ------------------------------------------------------------------------------------

LISTS = [
    f"{API}/orders",
    f"{API}/trainees",
    f"{API}/groups",
    f"{API}/enrolments",
    f"{API}/sessions?start={B_DAY.isoformat()}&days=31",
    f"{API}/sessions?start={ORDER_START.isoformat()}&days=62",
]
OWN = {  # what each of tenant_a's roles must find in the lists (a positive control)
    "org_admin": {"order_id", "trainee", "group_id", "enrolment_id", "session_id"},
    "finance": {"order_id", "trainee", "group_id", "enrolment_id", "session_id"},
    "trainer": {"order_id", "trainee", "group_id", "enrolment_id", "session_id"},
    "trainee": {"group_id", "enrolment_id", "session_id"},
}


@pytest.mark.parametrize("role", sorted(OWN))
def test_lists_of_tenant_a_hold_none_of_tenant_b(app, client, tenant_a, target, role):
    headers = callers(app, tenant_a)[role]
    seen = ""
    for url in LISTS:
        answer = client.get(url, headers=headers)
        assert answer.status_code in (200, 403), (url, answer.status_code)
        assert_no_leak(target, answer, f"GET {url} as tenant_a {role}")
        seen += response_text(answer)
    own = {
        "order_id": tenant_a.order_id,
        "trainee": tenant_a.trainee.id,
        "group_id": tenant_a.group_id,
        "enrolment_id": tenant_a.enrolment_id,
        "session_id": tenant_a.session_id,
    }
    for name in OWN[role]:
        assert own[name] in seen, f"tenant_a {role} should see its own {name}"


@pytest.mark.parametrize("page", ["/", "/commandes", "/seances", "/mes-seances"])
def test_pages_of_tenant_a_admin_hold_none_of_tenant_b(app, tenant_a, target, page):
    browser = staff_cookie_client(app, tenant_a.admin)
    answer = browser.get(page, follow_redirects=True)
    assert answer.status_code in (200, 403, 404)
    assert_no_leak(target, answer, f"GET {page} as tenant_a admin")
