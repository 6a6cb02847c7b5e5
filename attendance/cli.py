"""`flask --app wsgi ledger verify`: recompute the signature ledger from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from attendance import journal
from attendance.models import TrainingSession

ledger_cli = AppGroup("ledger", help="The signature ledger (hash chains).")


@ledger_cli.command("verify")
@click.option("--organisation-id", default=None, help="Only this organisation's sessions.")
def verify_command(organisation_id: str | None) -> None:
    """Recompute every session's chain; exit 1 and name the first bad entry on tampering."""
    query = select(TrainingSession)
    if organisation_id:
        query = query.where(TrainingSession.organisation_id == organisation_id)
    result = journal.verify(query)
    if result.ok:
        click.echo(f"Registre intègre : {result.length} entrées dans {result.sessions} séances.")
        click.echo(f"Empreinte : {result.head}")
        return
    fault = result.fault
    assert fault is not None  # noqa: S101 - not ok implies a fault
    click.echo(
        f"Registre ALTÉRÉ : séance {fault.session_id}, entrée n° {fault.seq}"
        f" (id {fault.entry_id or '—'}) : {fault.reason}.",
        err=True,
    )
    sys.exit(1)
