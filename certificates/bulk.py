"""Every certificate of an order for a month, at once: a group's certificates issued together
(its chains read once, one ledger append per session for all of them, one commit), the groups
spread over several processes; then gathered in one ZIP. A group is issued by one process,
unless the order has too few groups to keep every process busy: then each group is cut into
parts of whole trainees (`batches`), which two processes may issue at once (one waits on the
sessions' rows only while the other records its entries and commits).

How the workers start depends on the process that starts them. The command line runs no other
thread: its workers are forked from it, with its app (building one costs a worker seconds of
CPU, as much as drawing a hundred certificates), once its database connections are closed, so
that none is shared. A page's background thread runs beside the server's threads, whose locks
a fork would copy held: its workers are spawned and build their own app from the parent's
configuration.
"""

from __future__ import annotations

import io
import multiprocessing
import pickle
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from typing import Any

from flask import Flask
from sqlalchemy import or_, select

from certificates import rules, services
from certificates.models import Certificate
from certificates.web import download_name, issue_all_once
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


class BulkFailed(Exception):  # noqa: N818 - what the page and the command show
    """Some certificates could not be issued; every other one was, and is kept."""


def issue_batch(batch: list[Target], author_id: str, now: datetime) -> tuple[list[Outcome], str]:
    """Issue one group's targets together and commit them (in an app context). Answers their
    outcomes and, when some could not be issued, why (the others are committed all the same;
    issued again, those are found unchanged: never twice)."""
    ids = sorted({target.enrolment_id for target in batch})
    enrolments = {
        e.id: e for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_(ids)))
    }
    wanted = [
        services.Wanted(enrolments[target.enrolment_id], target.kind, target.month)
        for target in batch
    ]
    try:
        results = issue_all_once(author_id, wanted, now)
    except Exception as error:  # noqa: BLE001 - the group's failure, the other groups go on
        db.session.rollback()
        return [], _why(batch[0], error)
    outcomes, failures = [], []
    for target, result in zip(batch, results, strict=True):
        if isinstance(result, services.Issued):
            outcomes.append(Outcome(target, result.certificate.id, result.created))
        elif isinstance(result, DomainError) and result.code == "nothing_to_certify":
            outcomes.append(Outcome(target, None, False))
        else:
            failures.append(_why(target, result))
    return outcomes, "; ".join(failures)


def _why(target: Target, error: Exception) -> str:
    message = (
        error.message if isinstance(error, DomainError) else f"{type(error).__name__}: {error}"
    )
    return f"parcours {target.enrolment_id} ({target.kind}) : {message}"


def run(
    app: Flask,
    planned: list[Target],
    author_id: str,
    now: datetime,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Issue every target, a group's together (issue_batch), the groups (or their parts,
    `balanced`) over `workers` processes (1, or a single batch: here, in the caller's app
    context); `progress(done, total)` after each batch. Raises BulkFailed at the end when
    some could not be issued, once every other one is."""
    outcomes: list[Outcome] = []
    failures: list[str] = []
    total, done = len(planned), 0
    batches = balanced(planned, workers)
    if workers <= 1 or len(batches) < 2:
        for batch in batches:
            found, failure = issue_batch(batch, author_id, now)
            outcomes += found
            failures += [failure] if failure else []
            done += len(batch)
            if progress:
                progress(done, total)
    else:
        with _pool(app, min(workers, len(batches))) as pool:
            futures = {
                pool.submit(_issue_in_worker, batch, author_id, now): len(batch)
                for batch in batches
            }
            for future in as_completed(futures):
                found, failure = future.result()
                outcomes += found
                failures += [failure] if failure else []
                done += futures[future]
                if progress:
                    progress(done, total)
    if failures:
        raise BulkFailed(
            f"{total - len(outcomes)} certificat(s) sur {total} n'ont pas pu être émis "
            f"(les autres le sont) : {'; '.join(failures)}"[:2000]
        )
    order = {target: index for index, target in enumerate(planned)}
    return sorted(outcomes, key=lambda outcome: order[outcome.target])


def by_group(planned: list[Target]) -> list[list[Target]]:
    """The targets by group, in the order of their groups' first targets: what one process
    issues together (`balanced` cuts a group into parts of whole trainees only when there are
    too few groups to keep every process busy)."""
    batches: dict[str, list[Target]] = {}
    for target in planned:
        batches.setdefault(target.group_id, []).append(target)
    return list(batches.values())


BATCHES_PER_WORKER = 4


def balanced(planned: list[Target], workers: int) -> list[list[Target]]:
    """The batches for `workers` processes: a group each (by_group) with one process or at
    least BATCHES_PER_WORKER groups per process; otherwise each group cut into as many parts of
    whole trainees (an attendance certificate and a certificate of realisation stay
    together, they share the trainee's lines) as it takes. With 5 groups and 2 processes,
    whole groups split 3 against 2: one process would idle a fifth of the time.

    Two parts of a group issued at once lock the same sessions' rows in id order (no
    deadlock), only from their append to their commit (their PDFs are drawn before), and the
    other part's certificate entries chained meanwhile do not make the facts stale
    (services.record, R17)."""
    groups = by_group(planned)
    parts = -(-BATCHES_PER_WORKER * workers // len(groups)) if groups else 1
    if parts <= 1 or workers <= 1:
        return groups
    cut: list[list[list[Target]]] = []
    for group in groups:
        trainees: dict[str, list[Target]] = {}
        for target in group:
            trainees.setdefault(target.enrolment_id, []).append(target)
        paths = list(trainees.values())
        size = -(-len(paths) // parts)
        cut.append(
            [
                [target for path in paths[start : start + size] for target in path]
                for start in range(0, len(paths), size)
            ]
        )
    # Every group's first part, then every second part…: the processes, taking them in
    # turn, mostly work on different groups at a time.
    return [part for parts_of in zip_longest(*cut) for part in parts_of if part]


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


def _pool(app: Flask, workers: int) -> ProcessPoolExecutor:
    """The workers: forked from this process when it runs no other thread (see the module's
    docstring), spawned otherwise."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        db.session.close()  # nothing checked out, nothing pooled: no connection is inherited
        for engine in db.engines.values():
            engine.dispose()
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_adopt_app,
            initargs=(app,),  # not pickled: the child has it already
        )
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(worker_config(app),),
    )


def _adopt_app(app: Flask) -> None:
    """A forked worker: the parent's app, its engines' pools emptied (the parent closed its
    connections before forking; whatever was left is dropped, never closed from here)."""
    global _worker_app  # noqa: PLW0603 - one app per worker process
    _worker_app = app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def _start_worker(config: dict[str, Any]) -> None:
    global _worker_app  # noqa: PLW0603 - one app per worker process
    from core import create_app

    _worker_app = create_app(config)


def _issue_in_worker(
    batch: list[Target], author_id: str, now: datetime
) -> tuple[list[Outcome], str]:
    assert _worker_app is not None  # noqa: S101 - set by the initializer
    with _worker_app.app_context():
        try:
            return issue_batch(batch, author_id, now)
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
