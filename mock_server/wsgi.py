"""A WSGI entry point for process-based servers (gunicorn): settings from CSM_* variables."""

from __future__ import annotations

from mock_server.http.app import create_app
from mock_server.settings import Settings

app = create_app(Settings.from_env())
