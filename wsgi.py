"""The WSGI entry point (`gunicorn wsgi:app`, `flask --app wsgi …`)."""

from core import create_app
from core.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one clear line for the operator, not a traceback
    raise SystemExit(f"Configuration refusée : {error}") from None
