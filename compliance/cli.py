"""`flask --app wsgi compliance …`: the Région's rollups."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from compliance import rollups
from core.extensions import db

compliance_cli = AppGroup("compliance", help="The Région's dashboards and checks.")


@compliance_cli.command("rollups")
def rollups_command() -> None:
    """Derive again the dashboards' rows of every closed session from its chain (once after
    upgrading: sessions closed before the rollups existed); those closing later keep theirs."""
    count = rollups.rebuild()
    db.session.commit()
    click.echo(f"Tableaux de bord : {count} séances closes recalculées depuis leur registre.")
