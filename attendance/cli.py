"""`flask --app wsgi ledger …`: seal and verify the signature ledger, publish its key, purge
personal data past its retention."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from attendance import journal, ledger, retention, sealing, seals
from attendance.models import CompanyPeriod, TrainingSession
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db

ledger_cli = AppGroup("ledger", help="The signature ledger (hash chains and their seals).")


@ledger_cli.command("verify")
@click.option("--organisation-id", default=None, help="Only this organisation's sessions.")
def verify_command(organisation_id: str | None) -> None:
    """Recompute every chain and check it against the seals; exit 1 naming the first bad
    entry or seal."""
    query, periods = select(TrainingSession), select(CompanyPeriod)
    if organisation_id:
        query = query.where(TrainingSession.organisation_id == organisation_id)
        periods = periods.where(CompanyPeriod.organisation_id == organisation_id)
    result = sealing.audit(query, whole_region=organisation_id is None, periods=periods)
    if not result.ok:
        fault = result.fault
        assert fault is not None  # noqa: S101 - not ok implies a fault
        where = (
            f"sceau n° {fault.seal}"
            if fault.seal
            else f"séance {fault.session_id}, entrée n° {fault.seq} (id {fault.entry_id or '—'})"
        )
        click.echo(f"Registre ALTÉRÉ : {where} : {fault.reason}.", err=True)
        sys.exit(1)
    click.echo(
        f"Registre intègre : {result.length} entrées dans {result.sessions} séances"
        f" et {result.company_periods} période(s) en entreprise."
    )
    click.echo(f"Empreinte : {result.head}")
    if not result.seals_checked:
        click.echo("Sceaux non vérifiés : aucune clé publique (LEDGER_PUBLIC_KEY).")
    elif result.seals:
        at = result.last_seal_at.isoformat() if result.last_seal_at else "—"
        click.echo(
            f"Sceaux : {result.seals} valides, le dernier le {at} ; {result.sealed} entrées "
            f"scellées, {result.unsealed} depuis."
        )
    else:
        click.echo(f"Aucun sceau encore : {result.unsealed} entrées non scellées.")


@ledger_cli.command("seal")
def seal_command() -> None:
    """Seal every session whose chain changed since the last seal, store the seal and append
    it to the export (LEDGER_SEAL_DIR). For a timer (cron, systemd): exit 0 when nothing
    changed, 1 when a chain was refused."""
    try:
        outcome = sealing.seal_and_export()
    except sealing.SealingUnavailable as error:
        raise click.ClickException(str(error)) from None
    if outcome.seal:
        click.echo(
            f"Sceau n° {outcome.seal.seq} : {outcome.seal.count} séances, racine "
            f"{outcome.seal.root}, exporté dans {sealing.export_path()}."
        )
    else:
        click.echo("Rien à sceller : aucune chaîne n'a changé depuis le dernier sceau.")
    for fault in outcome.refused:
        click.echo(
            f"Non scellée : séance {fault.session_id}, entrée n° {fault.seq} : {fault.reason}.",
            err=True,
        )
    if outcome.refused:
        sys.exit(1)


@ledger_cli.command("public-key")
def public_key_command() -> None:
    """Print the public key that checks the seals (PEM), to give to auditors."""
    public = sealing.keys().public
    if public is None:
        raise click.ClickException(
            "Aucune clé : définissez LEDGER_SIGNING_KEY ou LEDGER_PUBLIC_KEY."
        )
    click.echo(seals.public_pem(public), nl=False)


@ledger_cli.command("purge")
@click.option("--order-id", default=None, help="The order whose personal data is erased.")
@click.option(
    "--due",
    is_flag=True,
    help="Every order whose retention period is over (run it daily: a timer or cron).",
)
def purge_command(order_id: str | None, due: bool) -> None:
    """Erase an order's personal data once its retention period is over (3 years after the
    end of the year of the last payment); the chains and seals still verify afterwards.
    `--due`: every such order, again harmlessly for those already purged."""
    if bool(order_id) == due:
        raise click.UsageError("Give either --order-id or --due.")
    now = utcnow()
    order_ids = [order_id] if order_id else retention.due_orders(now)
    for one in order_ids:
        try:
            done = retention.purge_order(one, now)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        click.echo(
            f"{one} — données personnelles effacées : {done.trainees} stagiaires, "
            f"{done.entries} entrées du registre, {done.invitations} appareils."
        )
    if due and not order_ids:
        click.echo("Aucun bon de commande dont la durée de conservation est écoulée.")


@ledger_cli.command("export")
@click.option("--organisation-id", default=None, help="Only this organisation's sessions.")
def export_command(organisation_id: str | None) -> None:
    """Write every entry of the ledger as JSON lines to standard output (for an auditor, with
    the seals: python -m attendance.seals check SEALS --public-key KEY --entries FILE)."""
    query = select(journal.SIGNATURES).order_by(
        journal.SIGNATURES.c.session_id, journal.SIGNATURES.c.seq
    )
    if organisation_id:
        query = query.where(journal.SIGNATURES.c.organisation_id == organisation_id)
    for row in db.session.execute(query.execution_options(yield_per=5000)).mappings():
        click.echo(json.dumps(ledger.exported(row), sort_keys=True, ensure_ascii=False))
