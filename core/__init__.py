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
    from virtualclass.control import ControlledClassNamespace
    from virtualclass.events import NAMESPACE

    if not any(handler.namespace == NAMESPACE for handler in socketio.namespace_handlers):
        socketio.on_namespace(ControlledClassNamespace(NAMESPACE))
    queue = app.config["REDIS_URL"] or None
    options = {}
    if queue:
        options["client_manager"] = live_events(
            queue, app.config["SOCKETIO_WRITE_ONLY"], app.config["SOCKETIO_CHANNEL"]
        )
    # Socket.IO answers pages of this site only (its own origin), or the configured ones.
    options["cors_allowed_origins"] = app.config["CLASS_ALLOWED_ORIGINS"] or None
    options["max_http_buffer_size"] = app.config["SOCKETIO_MAX_BUFFER_BYTES"]
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
    import attendance.company  # noqa: F401 - keeps company periods inside their order's dates
    import attendance.models  # noqa: F401
    import attendance.services  # noqa: F401 - re-checks the plan on order and group edits
    import attendance.site_links  # noqa: F401 - answers the access sites about sessions
    import certificates.models  # noqa: F401
    import certificates.services  # noqa: F401 - erases its PDFs when an order is purged
    import compliance.data_pages  # noqa: F401 - logs who reads a trainee's record
    import compliance.followup_pages  # noqa: F401 - adds its link to the trainee's page
    import compliance.help_pages  # noqa: F401 - adds the help requests to the session's page
    import compliance.models  # noqa: F401
    import compliance.pages  # noqa: F401 - adds the plan's section to the group's page
    import compliance.rollups  # noqa: F401 - keeps the dashboards' rows as sessions close
    import core.models  # noqa: F401
    import sites.models  # noqa: F401
    import sites.services  # noqa: F401 - tells core which sites exist
    import training.models  # noqa: F401
    import virtualclass.models  # noqa: F401
    import virtualclass.services  # noqa: F401 - the class's sections of the attendance sheet


def _register_feature_commands(app: Flask) -> None:
    from attendance.cli import ledger_cli
    from certificates.cli import certificates_cli
    from compliance.cli import compliance_cli
    from demo import demo_command

    app.cli.add_command(ledger_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(compliance_cli)
    app.cli.add_command(demo_command)
    from sites.cli import sites_cli

    app.cli.add_command(sites_cli)


def _register_blueprints(app: Flask) -> None:
    from attendance.company_pages import bp as company_pages
    from attendance.company_routes import blp as company_api
    from attendance.pages import bp as attendance_pages
    from attendance.routes import blp as attendance_api
    from attendance.signin_pages import bp as signin_pages
    from certificates.billing_routes import blp as billing_api
    from certificates.finance_pages import bp as finance_pages
    from certificates.pages import bp as certificate_pages
    from certificates.routes import blp as certificates_api
    from compliance.dashboard_pages import bp as dashboard_pages
    from compliance.dashboard_routes import blp as dashboards_api
    from compliance.data_pages import bp as data_pages
    from compliance.data_routes import blp as personal_data_api
    from compliance.followup_pages import bp as followup_pages
    from compliance.help_pages import bp as help_pages
    from compliance.pages import bp as compliance_pages
    from compliance.routes import blp as compliance_api
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
        company_api,
        compliance_api,
        personal_data_api,
        dashboards_api,
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
    app.register_blueprint(company_pages)
    app.register_blueprint(compliance_pages)
    app.register_blueprint(followup_pages)
    app.register_blueprint(help_pages)
    app.register_blueprint(data_pages)
    app.register_blueprint(dashboard_pages)
    from virtualclass.pages import bp as class_pages

    app.register_blueprint(class_pages)
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
