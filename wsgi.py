"""The WSGI entry point: `gunicorn wsgi:app`."""

from ohpunaises.app import create_app

app = create_app()
