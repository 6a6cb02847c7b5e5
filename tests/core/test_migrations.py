"""Alembic: one head, the migrated schema equals the models, and downgrades work."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from core.extensions import db as _db
from core.extensions import migrate

MIGRATIONS = Path(__file__).resolve().parents[2] / "core" / "migrations"


def scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_there_is_a_single_head():
    heads = scripts().get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; merge them"


def test_every_revision_descends_from_the_first():
    revisions = list(scripts().walk_revisions())
    roots = [r for r in revisions if r.down_revision is None]
    assert len(roots) == 1


def test_the_test_database_is_at_the_head(app):
    with _db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert set(current) == set(scripts().get_heads())


def test_migrated_schema_matches_the_models(app):
    with _db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        differences = compare_metadata(context, _db.metadata)
    assert differences == [], "models and migrations differ: add a revision"


def test_downgrade_to_base_and_back_up(tmp_path):
    """Every revision can be undone and redone (on a scratch SQLite database)."""
    scratch = Flask("scratch")
    scratch.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/scratch.db"
    _db.init_app(scratch)
    migrate.init_app(scratch, _db, directory=str(MIGRATIONS))
    with scratch.app_context():
        upgrade()
        tables = set(inspect(_db.engine).get_table_names())
        assert {t.name for t in _db.metadata.sorted_tables} <= tables
        downgrade(revision="base")
        assert set(inspect(_db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {t.name for t in _db.metadata.sorted_tables} <= set(
            inspect(_db.engine).get_table_names()
        )
        _db.engine.dispose()
