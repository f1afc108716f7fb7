"""A WSGI entry point for process-based servers (gunicorn): settings from CSM_* variables."""

from __future__ import annotations

from mock_server import Settings, create_app

app = create_app(Settings.from_env())
