"""customer-session-mock: a stateful, self-validating mock of Talon.One customer sessions."""

from mock_server.http.app import create_app
from mock_server.settings import Settings

__all__ = ["Settings", "create_app"]
