"""`flask --app wsgi sites …`: send the notifications left in the outbox."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from sites import mail

sites_cli = AppGroup("sites", help="Access sites: notifications.")


@sites_cli.command("send-mail")
def send_mail_command() -> None:
    """Send the outbox's unsent mails through SMTP_URL (a timer can run it every minute)."""
    if not current_app.config.get("SMTP_URL"):
        raise click.ClickException(
            "SMTP_URL n'est pas défini : les messages restent dans la boîte d'envoi."
        )
    sent = mail.deliver_pending(current_app.config)
    click.echo(f"{sent} message(s) envoyé(s).")
