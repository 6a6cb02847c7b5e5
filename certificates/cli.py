"""`flask --app wsgi certificates issue --order N --month YYYY-MM`: every certificate of an
order for a month, over several processes, in one ZIP."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from certificates import bulk, rules, services
from core.db import utcnow
from core.errors import DomainError

certificates_cli = AppGroup("certificates", help="Certificates of realisation and attendance.")


@certificates_cli.command("issue")
@click.option("--order", "order_ref", required=True, help="The order's number or id.")
@click.option("--month", required=True, help="The month, YYYY-MM (Europe/Paris).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=lambda: max(1, min(4, os.cpu_count() or 1)),
    show_default="the cores, up to 4",
    help="Processes that draw and record the certificates.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="The ZIP to write (default: certificats_<order>_<month>.zip here).",
)
def issue_command(order_ref: str, month: str, workers: int, output: Path | None) -> None:
    """Issue (or find, when unchanged) each trainee's attendance certificate of the month and
    certificate of realisation; record them in the ledger; write them in one ZIP."""
    try:
        rules.parse_month(month)
        order = bulk.find_order(order_ref)
        if services.is_purged(order.id):  # never issued again, nor an empty ZIP
            raise services.purged_error()
        planned = bulk.targets(order, month)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with click.progressbar(length=len(planned), label="Certificats", show_pos=True) as bar:
        step = {"done": 0}

        def progress(done: int, total: int) -> None:
            bar.update(done - step["done"])
            step["done"] = done

        try:
            outcomes = bulk.run(
                app, planned, services.OPERATOR, utcnow(), workers=workers, progress=progress
            )
        except bulk.BulkFailed as error:  # the others are issued: run again for the rest
            raise click.ClickException(f"{error} Relancez la commande pour ceux-là.") from None
    certificates = bulk.month_certificates(order.id, month)
    path = output or Path(f"certificats_{rules.slug(order.number)}_{month}.zip")
    path.write_bytes(bulk.zip_of(certificates))
    created = sum(o.created for o in outcomes)
    unchanged = sum(1 for o in outcomes if o.certificate_id and not o.created)
    empty = sum(1 for o in outcomes if o.certificate_id is None)
    click.echo(
        f"{len(certificates)} certificats dans {path} : {created} émis, {unchanged} inchangés "
        f"(déjà émis), {empty} sans séance tenue sur la période."
    )
