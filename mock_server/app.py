"""The application factory: one Flask app, its own store, its contract and its rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, current_app

from mock_server import routes
from mock_server.compiled_validation import contract_validator
from mock_server.errors import register_error_handlers
from mock_server.generator import GeneratorOptions, SessionGenerator
from mock_server.service import Clock, SessionService, utc_now
from mock_server.settings import Settings
from mock_server.spec import Spec, load_spec
from mock_server.store import MemorySessionStore, SessionStore, preload
from mock_server.validation import RequestResponseValidator

EXTENSION = "mock_server"
logger = logging.getLogger("mock_server")


@dataclass
class MockState:
    """Everything one app instance owns, kept in `app.extensions`."""

    settings: Settings
    spec: Spec
    validator: RequestResponseValidator
    service: SessionService
    preloaded_ids: list[str] = field(default_factory=list)
    _generators: dict[tuple[int, int], SessionGenerator] = field(default_factory=dict)

    def generator(self, seed: int, application_id: int) -> SessionGenerator:
        """The session generator of a seed, built once (it fills a faker catalogue)."""
        key = (seed, application_id)
        if key not in self._generators:
            if len(self._generators) >= 32:  # a client choosing seeds must not grow memory
                self._generators.clear()
            self._generators[key] = SessionGenerator(
                seed, GeneratorOptions(application_id=application_id)
            )
        return self._generators[key]

    def preload(self) -> None:
        """Fill the store with the generated sessions of the configured seed, every app."""
        self.preloaded_ids.clear()
        for application_id in sorted(self.settings.application_ids()):
            sessions = list(
                self.generator(self.settings.seed, application_id).sessions(self.settings.preload)
            )
            preload(self.service.store, sessions)
            if not self.preloaded_ids:
                self.preloaded_ids.extend(s.integration_id for s in sessions)


def mock_state() -> MockState:
    """The state of the app handling the current request."""
    state: MockState = current_app.extensions[EXTENSION]
    return state


def create_app(
    settings: Settings | None = None,
    *,
    store: SessionStore | None = None,
    clock: Clock = utc_now,
) -> Flask:
    """Build a mock server with its own store, preloaded with generated sessions."""
    settings = settings or Settings.from_env()
    spec = load_spec(settings.spec_path)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # Keep keys in the order the wire module writes them, like the real API.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = MockState(
        settings=settings,
        spec=spec,
        validator=contract_validator(spec, settings.validator),
        service=SessionService(store if store is not None else MemorySessionStore(), clock),
    )
    state.preload()
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    app.register_blueprint(routes.bp)
    app.register_blueprint(routes.docs)
    return app
