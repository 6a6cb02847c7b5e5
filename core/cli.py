"""Command-line entry points: `flask --app wsgi user create …` and `flask --app wsgi demo`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import services
from core.config import LOCAL_ENVS
from core.errors import DomainError
from core.extensions import db
from core.models import ORG_ROLES, Role

user_cli = AppGroup("user", help="Manage staff accounts.")


@user_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role if r != Role.TRAINEE]),
    help="The account's role.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (never from the arguments).",
)
@click.option("--first-name", default="Admin", show_default=True, help="First name.")
@click.option("--last-name", default="Région", show_default=True, help="Last name.")
@click.option("--organisation-id", default=None, help="Required for organisation roles.")
@click.option("--site-id", default=None, help="Required for site_staff.")
def create_user_command(
    email: str,
    role: str,
    password_stdin: bool,
    first_name: str,
    last_name: str,
    organisation_id: str | None,
    site_id: str | None,
) -> None:
    """Create a staff account; the password is read from standard input, never argv."""
    password = sys.stdin.readline().rstrip("\r\n")
    if role in ORG_ROLES and not organisation_id:
        raise click.ClickException(
            "Ce rôle appartient à un organisme : indiquez --organisation-id."
        )
    if role == Role.SITE_STAFF and not site_id:
        raise click.ClickException("Un animateur de site a un site : indiquez --site-id.")
    try:
        user = services.add_user(
            email=email,
            password=password,
            role=role,
            argon2=current_app.config["ARGON2"],
            first_name=first_name,
            last_name=last_name,
            organisation_id=organisation_id,
            site_id=site_id,
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(f"Compte créé : {user.email} ({user.role}), id {user.id}")


@click.command("demo")
def demo_command() -> None:
    """Load the demo data, or plan today's sessions again; print logins and trainee codes.

    The first run creates an organisation, an order, a group of 12 trainees and this week's
    sessions. Every run makes sure a session is running now and prints fresh invitation codes
    (development and testing only: the demo's passwords are public)."""
    from core.demo import load_demo

    if current_app.config["APP_ENV"] not in LOCAL_ENVS:
        raise click.ClickException(
            "Les données de démonstration ont des mots de passe publiés dans le dépôt : "
            "elles ne se chargent qu'avec APP_ENV=development ou APP_ENV=testing."
        )
    for line in load_demo():
        click.echo(line)


def register_commands(app: Flask) -> None:
    from attendance.cli import ledger_cli

    app.cli.add_command(user_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(ledger_cli)
