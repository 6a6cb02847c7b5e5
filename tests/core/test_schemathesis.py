"""The API answers as its OpenAPI document says, for generated input, with a token of each role.

Schemathesis reads `/api/v1/openapi.json` and generates requests for every operation: valid ones
(positive) and invalid ones (negative), with the ids of a seeded organisation in the paths so
that they reach the handlers, not only 404s. A case fails on any 5xx, on a status the document
does not list, on a content type it does not list, and on a body that does not match its schema.

Bounded and reproducible: fixed numbers of examples, derandomized, no deadline, no shrinking
(a failure is reported as found, with the request that reproduces it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core import ratelimit
from core.extensions import db
from core.models import Role
from sites.models import Site
from tests.attendance.support import DAY, at, install_clock, plan
from tests.conftest import bearer, make_tenant, make_trainee, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, *(role.value for role in Role)]
# Generated cases per operation; each is sent once with the bearer of every role.
# API_FUZZ_SCALE=10 runs ten times as many, for a deeper search by hand.
SCALE = int(os.environ.get("API_FUZZ_SCALE", "1"))
EXAMPLES = {GenerationMode.POSITIVE: 8 * SCALE, GenerationMode.NEGATIVE: 4 * SCALE}
EVERY_ROLE = 2  # cases of each operation sent as every role, to check 401 and 403
# Operations that end what others need (an open session, a bound phone) run last.
LAST = ("/close", "/revoke")


@dataclass
class World:
    """A seeded organisation: the ids to put in paths, and a bearer per role."""

    ids: dict[str, list[str]]
    headers: dict[str, dict[str, str]]


def seed(app, client, monkeypatch) -> World:  # noqa: ANN001
    """An organisation with an order, group, enrolled trainee on a bound phone, a planned
    session and an open one at an access site, and one account of each role."""
    install_clock(monkeypatch, at(DAY, 9, 30))
    tenant = make_tenant(app, client, "Schemathesis")
    site = Site(name="Site de Foix", department="09", city="Foix", seats=8, opening_hours={})
    db.session.add(site)
    db.session.commit()
    open_id = plan(app, client, tenant, site_id=site.id)
    opened = client.post(f"/api/v1/sessions/{open_id}/open", headers=bearer(app, tenant.trainer))
    assert opened.status_code == 200, opened.get_json()
    admin = bearer(app, tenant.admin)
    other = make_trainee(tenant.org, "Noé")  # whose pending invitation may be revoked
    pending = client.post(f"/api/v1/trainees/{other.id}/invitations", headers=admin).get_json()
    ids = {
        "certificate_id": [issued_certificate(tenant)],
        "order_id": [tenant.order_id],
        "group_id": [tenant.group_id],
        "session_id": [open_id, tenant.session_id],
        "trainee_id": [tenant.trainee.id, other.id],
        "enrolment_id": [tenant.enrolment_id],
        "invitation_id": [pending["id"]],
        "organisation_id": [tenant.org.id],
    }
    headers = {
        ANONYMOUS: {},
        Role.REGION: bearer(app, make_user(Role.REGION)),
        Role.ORG_ADMIN: admin,
        Role.TRAINER: bearer(app, tenant.trainer),
        Role.FINANCE: bearer(app, tenant.finance),
        Role.SITE_STAFF: bearer(app, make_user(Role.SITE_STAFF, site_id=site.id)),
        Role.TRAINEE: bearer(app, tenant.trainee, dev=tenant.invitation_id),
    }
    return World(ids, {str(role): h for role, h in headers.items()})


def issued_certificate(tenant) -> str:  # noqa: ANN001
    """The short id of a certificate of realisation of the tenant's trainee, issued the day
    after the open session (so that it counts)."""
    from datetime import timedelta

    from certificates import services
    from training.models import Enrolment

    enrolment = db.session.get(Enrolment, tenant.enrolment_id)
    assert enrolment is not None
    later = at(DAY + timedelta(days=1), 9)
    issued = services.issue(tenant.admin.id, enrolment, "realisation", "", later, "http://x")
    db.session.commit()
    return issued.certificate.short_id


@pytest.fixture(scope="module")
def api_schema(app):  # noqa: ANN001, ANN201
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def operations(api_schema, tag: str) -> list[Any]:  # noqa: ANN001
    """The operations of one part of the API, those in LAST at the end."""
    found = [result.ok() for result in api_schema.get_all_operations()]
    mine = [op for op in found if tag in op.definition.raw.get("tags", [])]
    return sorted(mine, key=lambda op: op.path.endswith(LAST))


def callers(operation: Any) -> list[str]:
    """The roles the document lets call the operation (every role on a public one)."""
    raw = operation.definition.raw
    roles = raw.get("x-roles")
    if not raw.get("security"):
        return ROLES
    return [role for role in ROLES[1:] if not isinstance(roles, list) or role in roles]


def run_operation(app, operation: Any, world: World) -> list[str]:  # noqa: ANN001
    """Generate the cases of one operation, positive and negative; answer the failures."""
    failures: list[str] = []
    for mode, examples in EXAMPLES.items():
        try:
            run_cases(app, operation, world, mode, examples)
        except Unsatisfiable:
            pass  # nothing to make invalid (no parameter, no body): no negative case
        except (Exception, FailureGroup) as error:  # noqa: BLE001 - report every operation
            failures.append(f"{operation.label} ({mode.value}):\n{error}")
    return failures


def run_cases(app, operation: Any, world: World, mode: GenerationMode, examples: int) -> None:  # noqa: ANN001
    """Send each case: the first ones as every role (and anonymous), the others as the roles
    the document allows."""
    allowed = callers(operation)
    sent = count()

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 3))
    def check(case: Any, pick: int) -> None:
        # Mostly the seeded ids (reach the handlers); one case in four keeps the generated ones.
        if pick < 3:
            for name in list(case.path_parameters or {}):
                choices = world.ids.get(name)
                if choices:
                    case.path_parameters[name] = choices[pick % len(choices)]
        for role in ROLES if next(sent) < EVERY_ROLE else allowed:
            ratelimit.reset(app)  # the failed-attempt limit would answer 429 to every case
            headers = {**(case.headers or {}), **world.headers[role]}
            response = case.call(app=app, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

    check()


@pytest.mark.parametrize("tag", ["accounts", "training", "attendance", "certificates"])
def test_the_api_answers_as_its_document_says(app, client, monkeypatch, api_schema, tag):
    world = seed(app, client, monkeypatch)
    failures = []
    for operation in operations(api_schema, tag):
        failures += run_operation(app, operation, world)
    assert not failures, "\n\n".join(failures)
