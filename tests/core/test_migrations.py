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


def test_existing_chains_gain_their_session_facts_and_still_verify(tmp_path):
    """Issue 8: a session recorded before the chain covered its plan, opening and close gets
    them, merged in time order, and its chain (format 1 entries kept) verifies."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from attendance import journal, ledger, projection
    from attendance.models import TrainingSession

    scratch = Flask("scratch")
    scratch.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/old.db"
    _db.init_app(scratch)
    migrate.init_app(scratch, _db, directory=str(MIGRATIONS))
    with scratch.app_context():
        upgrade(revision="b87849ed5635")  # before the session's facts were chained
        at = datetime(2026, 3, 10, 8, 5, tzinfo=UTC)
        old = {
            "id": "e1", "organisation_id": "o1", "session_id": "s1", "seq": 1,
            "kind": "sign_in", "signer_kind": "trainee", "signer_id": "t1", "half_day": "am",
            "at": at, "method": "qr", "channel": "home", "device": {"ua": "x", "ip": "1"},
            "author_id": None, "action": None, "reason": None, "justified": None,
        }  # fmt: skip
        old["prev_hash"] = ledger.genesis("s1")
        old["hash"] = ledger.entry_hash(old["prev_hash"], old)
        with _db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisation (id, name, siret, created_at) "
                    "VALUES ('o1', 'OF', '12345678901234', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO app_user (id, email, password_hash, role, first_name, "
                    "last_name, organisation_id, is_active, created_at) VALUES ('u1', "
                    "'f@x.fr', 'h', 'trainer', 'F', 'G', 'o1', 1, '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO training_order (id, organisation_id, number, title, modality, "
                    "start_date, end_date, centre_hours, min_synchronous_share, "
                    "forecast_headcount, created_at) VALUES ('r1', 'o1', 'BC', 'T', "
                    "'e_formation', '2026-01-05', "
                    "'2026-11-30', 100, 0.5, 10, '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO training_group (id, organisation_id, order_id, name, component, "
                    "created_at) VALUES ('g1', 'o1', 'r1', 'G', 'C', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO training_session (id, organisation_id, group_id, kind, title, "
                    "starts_at, ends_at, status, on_public_holiday, created_by_id, opened_at, "
                    "opened_by_id, closed_at, closed_by_id, chain_length, chain_head, created_at) "
                    "VALUES ('s1', 'o1', 'g1', 'tutorat', 'T', '2026-03-10 08:00:00', "
                    "'2026-03-10 11:00:00', 'closed', 0, 'u1', '2026-03-10 07:50:00', 'u1', "
                    "'2026-03-10 10:00:00', 'u1', 1, :head, '2026-03-01 00:00:00')"
                ),
                {"head": old["hash"]},
            )
            conn.execute(
                text(
                    "INSERT INTO signature (id, organisation_id, session_id, seq, kind, "
                    "signer_kind, signer_id, half_day, at, method, channel, device, author_id, "
                    "prev_hash, hash, "
                    "created_at) VALUES ('e1', 'o1', 's1', 1, 'sign_in', 'trainee', 't1', 'am', "
                    "'2026-03-10 08:05:00', 'qr', 'home', '{\"ua\": \"x\", \"ip\": \"1\"}', NULL, "
                    ":prev, :hash, '2026-03-10 08:05:00')"
                ),
                {"prev": old["prev_hash"], "hash": old["hash"]},
            )
        upgrade()
        kinds = [
            row.kind
            for row in _db.session.execute(
                select(journal.SIGNATURES.c.kind).order_by(journal.SIGNATURES.c.seq)
            )
        ]
        assert kinds == ["planned", "opened", "sign_in", "closed"]
        result = journal.verify(select(TrainingSession))
        assert result.fault is None, result.fault
        assert result.length == 4
        state = projection.replay(
            _db.session.execute(
                select(journal.SIGNATURES).order_by(journal.SIGNATURES.c.seq)
            ).mappings()
        )
        assert (state.kind, state.status) == ("tutorat", "closed")
        _db.session.remove()
        _db.engine.dispose()
