"""Command-line entry points: `flask --app wsgi user create …` and `flask --app wsgi demo`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import services
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


def register_commands(app: Flask) -> None:
    """Core's own commands (the factory adds the features')."""
    app.cli.add_command(user_cli)
