"""Every certificate of an order for a month, at once: spread over several processes, each
certificate issued and committed on its own (its ledger appends serialise per session on the
session's row), then gathered in one ZIP.

The workers are started with `spawn` and build their own app from the parent's configuration:
nothing (a pooled connection, a lock held by another thread) is inherited from the process
that starts them, be it the command line or a page's background thread.
"""

from __future__ import annotations

import io
import multiprocessing
import pickle
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import or_, select

from certificates import rules
from certificates.models import Certificate
from certificates.web import download_name, issue_once
from core.errors import DomainError, NotFound
from core.extensions import db
from training.models import Enrolment, Group, Order

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Target:
    """One certificate to issue: an enrolment's attendance certificate of the month, or its
    certificate of realisation."""

    enrolment_id: str
    kind: str
    month: str
    group_id: str = ""  # whose sessions' chains its issue appends to


@dataclass(frozen=True)
class Outcome:
    target: Target
    certificate_id: str | None  # None: nothing held to certify
    created: bool


def find_order(reference: str, organisation_id: str | None = None) -> Order:
    """An order by its id, or by its number (within an organisation when given)."""
    found = db.session.get(Order, reference)
    if found is not None and organisation_id in (None, found.organisation_id):
        return found
    query = select(Order).where(Order.number == reference)
    if organisation_id:
        query = query.where(Order.organisation_id == organisation_id)
    orders = list(db.session.scalars(query.limit(2)))
    if len(orders) != 1:
        raise NotFound(
            "Bon de commande introuvable"
            + (" (plusieurs organismes ont ce numéro : donnez son id)." if orders else "."),
            code="order_not_found",
        )
    return orders[0]


def targets(order: Order, month: str) -> list[Target]:
    """The certificates of the order's enrolments that cover some day of the month."""
    first, last = rules.parse_month(month)
    enrolments = db.session.scalars(
        select(Enrolment)
        .join(Group, Group.id == Enrolment.group_id)
        .where(
            Group.order_id == order.id,
            Enrolment.entry_date <= last,
            or_(Enrolment.exit_date.is_(None), Enrolment.exit_date >= first),
        )
        .order_by(Group.name, Enrolment.id)
    )
    found = []
    for enrolment in enrolments:
        found.append(Target(enrolment.id, rules.ATTENDANCE, month, enrolment.group_id))
        found.append(Target(enrolment.id, rules.REALISATION, "", enrolment.group_id))
    return found


def issue_target(target: Target, author_id: str, now: datetime) -> Outcome:
    """Issue one certificate and commit it (in an app context)."""
    enrolment = db.session.get_one(Enrolment, target.enrolment_id)
    try:
        issued = issue_once(author_id, enrolment, target.kind, target.month, now)
    except DomainError as error:
        db.session.rollback()
        if error.code != "nothing_to_certify":
            raise
        return Outcome(target, None, False)
    return Outcome(target, issued.certificate.id, issued.created)


def run(
    app: Flask,
    planned: list[Target],
    author_id: str,
    now: datetime,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Issue every target, over `workers` processes (1: here, in the caller's app context);
    `progress(done, total)` after each one."""
    outcomes: list[Outcome] = []
    total = len(planned)
    if workers <= 1 or total < 2:
        for target in planned:
            outcomes.append(issue_target(target, author_id, now))
            if progress:
                progress(len(outcomes), total)
        return outcomes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, total),
        mp_context=context,
        initializer=_start_worker,
        initargs=(worker_config(app),),
    ) as pool:
        futures = [
            pool.submit(_issue_in_worker, target, author_id, now) for target in spread(planned)
        ]
        for future in as_completed(futures):
            outcomes.append(future.result())
            if progress:
                progress(len(outcomes), total)
    order = {target: index for index, target in enumerate(planned)}
    return sorted(outcomes, key=lambda outcome: order[outcome.target])


def spread(planned: list[Target]) -> list[Target]:
    """The targets taken from each group in turn. Issuing a certificate appends to each of
    its group's sessions' chains, which holds their rows until it commits: the workers,
    taking the next target as they finish one, then work on different groups and seldom
    wait for each other (docs/benchmarks.md, "Certificates")."""
    by_group: dict[str, list[Target]] = {}
    for target in planned:
        by_group.setdefault(target.group_id, []).append(target)
    queues = list(by_group.values())
    return [
        queue[i]
        for i in range(max(map(len, queues), default=0))
        for queue in queues
        if i < len(queue)
    ]


def worker_config(app: Flask) -> dict[str, Any]:
    """The parent's configuration that a worker can receive (what pickles)."""
    config = {}
    for key, value in app.config.items():
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError):
            continue
        config[key] = value
    return config


_worker_app: Flask | None = None


def _start_worker(config: dict[str, Any]) -> None:
    global _worker_app  # noqa: PLW0603 - one app per worker process
    from core import create_app

    _worker_app = create_app(config)


def _issue_in_worker(target: Target, author_id: str, now: datetime) -> Outcome:
    assert _worker_app is not None  # noqa: S101 - set by the initializer
    with _worker_app.app_context():
        try:
            return issue_target(target, author_id, now)
        finally:
            db.session.remove()


def month_certificates(order_id: str, month: str) -> list[Certificate]:
    """The current certificates of an order's month: each attendance certificate of the month
    and the certificate of realisation of the same enrolments."""
    current = Certificate.superseded_by_id.is_(None)
    monthly = list(
        db.session.scalars(
            select(Certificate).where(
                Certificate.order_id == order_id,
                Certificate.month == month,
                Certificate.kind == rules.ATTENDANCE,
                current,
            )
        )
    )
    enrolments = [c.enrolment_id for c in monthly]
    realisations = db.session.scalars(
        select(Certificate).where(
            Certificate.enrolment_id.in_(enrolments),
            Certificate.kind == rules.REALISATION,
            current,
        )
    )
    return sorted([*monthly, *realisations], key=download_name)


def zip_of(certificates: list[Certificate]) -> bytes:
    """One ZIP of the PDFs, each under its download name."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for certificate, name in _named(certificates):
            archive.writestr(name, certificate.pdf or b"")
    return out.getvalue()


def _named(certificates: list[Certificate]) -> Iterator[tuple[Certificate, str]]:
    for certificate in certificates:
        yield certificate, download_name(certificate)
