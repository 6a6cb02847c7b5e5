"""Application factory of the Compétences Plus émargement service."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from core.auth import PageSessions
from core.config import check_config, load_config
from core.db import ping_after_idle
from core.live import live_events


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, commands."""
    app = Flask(__name__, instance_relative_config=False, instance_path=_instance_path())
    app.config.update(load_config(app.instance_path))
    app.session_interface = PageSessions()
    if test_config:
        app.config.update(test_config)
    check_config(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    _init_extensions(app)
    _trust_proxies(app)
    _register_blueprints(app)
    from core.cli import register_commands
    from core.http_errors import register_error_handlers
    from core.templating import register_template_filters

    register_error_handlers(app)
    register_template_filters(app)
    register_commands(app)
    _register_feature_commands(app)
    return app


def _instance_path() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("INSTANCE_PATH", os.path.join(root, "instance"))


def _init_extensions(app: Flask) -> None:
    from core import guards, ratelimit
    from core.api import api
    from core.extensions import csrf, db, migrate, socketio

    guards.init_app(app)
    import_models()
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_after_idle(engine, app.config["DB_PING_AFTER_IDLE_S"])
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    ratelimit.init_app(app)
    from attendance.events import LiveNamespace

    if not any(handler.namespace == "/live" for handler in socketio.namespace_handlers):
        socketio.on_namespace(LiveNamespace("/live"))
    from certificates.events import CertificatesNamespace

    if not any(handler.namespace == "/certificates" for handler in socketio.namespace_handlers):
        socketio.on_namespace(CertificatesNamespace("/certificates"))
    queue = app.config["REDIS_URL"] or None
    options = {}
    if queue:
        options["client_manager"] = live_events(queue, app.config["SOCKETIO_WRITE_ONLY"])
    socketio.init_app(app, message_queue=queue, **options)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, read the client's address, scheme and host they forward."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:  # outermost, after Socket.IO's middleware: every request is seen fixed
        fixed = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        app.wsgi_app = fixed  # type: ignore[method-assign]


def import_models() -> None:
    """Import every model module so that metadata (and Alembic) sees all tables, and the
    modules that subscribe to the signals of the layers below them (docs/architecture.md)."""
    import attendance.models  # noqa: F401
    import attendance.services  # noqa: F401 - re-checks the plan on order and group edits
    import attendance.site_links  # noqa: F401 - answers the access sites about sessions
    import certificates.models  # noqa: F401
    import certificates.services  # noqa: F401 - erases its PDFs when an order is purged
    import core.models  # noqa: F401
    import sites.models  # noqa: F401
    import sites.services  # noqa: F401 - tells core which sites exist
    import training.models  # noqa: F401


def _register_feature_commands(app: Flask) -> None:
    from attendance.cli import ledger_cli
    from certificates.cli import certificates_cli
    from demo import demo_command

    app.cli.add_command(ledger_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(demo_command)
    from sites.cli import sites_cli

    app.cli.add_command(sites_cli)


def _register_blueprints(app: Flask) -> None:
    from attendance.pages import bp as attendance_pages
    from attendance.routes import blp as attendance_api
    from attendance.signin_pages import bp as signin_pages
    from certificates.billing_routes import blp as billing_api
    from certificates.finance_pages import bp as finance_pages
    from certificates.pages import bp as certificate_pages
    from certificates.routes import blp as certificates_api
    from core.api import api
    from core.extensions import csrf
    from core.pages import bp as core_pages
    from core.routes import blp as accounts_api
    from sites.pages import bp as sites_pages
    from sites.routes import blp as sites_api
    from training.pages import bp as training_pages
    from training.routes import blp as training_api

    for blueprint in (
        accounts_api,
        training_api,
        attendance_api,
        certificates_api,
        billing_api,
        sites_api,
    ):
        csrf.exempt(blueprint)  # the API takes bearer tokens, never cookies
        api.register_blueprint(blueprint)
    app.register_blueprint(core_pages)
    app.register_blueprint(signin_pages)
    app.register_blueprint(training_pages)
    app.register_blueprint(attendance_pages)
    app.register_blueprint(certificate_pages)
    app.register_blueprint(finance_pages)
    app.register_blueprint(sites_pages)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, WAL journal and durable commits."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
