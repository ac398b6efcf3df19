"""The WSGI entry point: `gunicorn wsgi:app` (or `flask --app wsgi run`)."""

from crm import create_app, freeze_startup_objects

app = create_app()
freeze_startup_objects()
