"""The application factory: one Flask app, its own store, its contract and its rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from flask import Flask, Response, current_app, request
from flask_cors import CORS

from mock_server import routes
from mock_server.admin import admin
from mock_server.compiled_validation import contract_validator
from mock_server.conditions import Conditions, TrafficControl
from mock_server.delivery import Delivery
from mock_server.domain import CustomerSession
from mock_server.errors import MockServerError, register_error_handlers
from mock_server.fixtures import load_fixture_sessions
from mock_server.generator import GeneratorOptions, SessionGenerator
from mock_server.inspector import inspector
from mock_server.journal import RequestJournal
from mock_server.latency import InvalidLatency, parse_latency
from mock_server.recording import record_exchange
from mock_server.service import Clock, SessionService, utc_now
from mock_server.settings import Settings
from mock_server.spec import Spec, load_spec
from mock_server.store import SessionStore, preload
from mock_server.stores import open_store
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
    journal: RequestJournal = field(default_factory=lambda: RequestJournal(1000))
    traffic: TrafficControl = field(default_factory=lambda: TrafficControl(Conditions()))
    _generators: dict[tuple[int, int], SessionGenerator] = field(default_factory=dict)
    _fixture_sessions: list[CustomerSession] | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_monotonic: float = field(default_factory=time.monotonic)

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

    def preload(self, application_id: int | None = None) -> None:
        """Fill the store with the fixture sessions, or the generated ones of every app.

        With `application_id`, only that application's (a reset of one application).
        """
        if application_id is not None:
            self._preload_application(application_id)
            return
        self.preloaded_ids.clear()
        if self.settings.fixtures_path is not None:
            preload(self.service.store, self._fixtures())
            self.preloaded_ids.extend(s.integration_id for s in self._fixtures())
            unreachable = {s.application_id for s in self._fixtures()}
            unreachable -= self.settings.application_ids()
            if unreachable:
                logger.warning(
                    "fixture sessions of application(s) %s are loaded, but no API key acts "
                    "for them; bind one with --api-key KEY=APPLICATION_ID",
                    ", ".join(map(str, sorted(unreachable))),
                )
            return
        for application_id in sorted(self.settings.application_ids()):
            sessions = self._generated(application_id)
            preload(self.service.store, sessions)
            if not self.preloaded_ids:
                self.preloaded_ids.extend(s.integration_id for s in sessions)

    def _preload_application(self, application_id: int) -> None:
        if self.settings.fixtures_path is not None:
            sessions = [s for s in self._fixtures() if s.application_id == application_id]
        elif application_id in self.settings.application_ids():
            sessions = self._generated(application_id)
        else:
            sessions = []
        preload(self.service.store, sessions)

    def _fixtures(self) -> list[CustomerSession]:
        assert self.settings.fixtures_path is not None
        if self._fixture_sessions is None:  # read and checked once, reused by resets
            self._fixture_sessions = load_fixture_sessions(self.settings.fixtures_path, self.spec)
        return self._fixture_sessions

    def _generated(self, application_id: int) -> list[CustomerSession]:
        seed = self.settings.seed
        if application_id != self.settings.default_application_id:
            # Other applications get other session ids: the same id in two applications
            # would be two sessions, and would look like one leaking across keys.
            seed = seed * 1_000_003 + application_id
        return list(self.generator(seed, application_id).sessions(self.settings.preload))


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
    if store is None:
        store = open_store(settings.store_url, ttl=settings.session_ttl)
    # Keep keys in the order the wire module writes them, like the real API.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = MockState(
        settings=settings,
        spec=spec,
        validator=contract_validator(spec, settings.validator),
        service=SessionService(store, clock),
    )
    state.preload()
    state.journal = RequestJournal(settings.journal_size)
    state.traffic = TrafficControl(initial_conditions(settings))
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    app.register_blueprint(routes.bp)
    app.register_blueprint(routes.docs)
    app.register_blueprint(admin)
    app.register_blueprint(inspector)
    app.after_request(record_exchange)
    # Browsers may call the API and read the contract; the admin API and the inspector stay
    # same-origin.
    hooks_before_cors = len(app.after_request_funcs.get(None, []))
    CORS(
        app,
        resources={r"/v2/*": {}, r"/openapi.*": {}},
        origins=list(settings.cors_origins),
        allow_headers=["Authorization", "Prefer", "Content-Type"],
        methods=["GET", "PUT", "OPTIONS"],
        max_age=600,
        # A request without Origin is no CORS request: it gets no CORS headers.
        always_send=False,
    )
    _skip_cors_without_origin(app, hooks_before_cors)
    app.wsgi_app = Delivery(app.wsgi_app, state.journal)  # type: ignore[method-assign]
    return app


def _skip_cors_without_origin(app: Flask, hooks_before_cors: int) -> None:
    """Run flask-cors's after-request step only for requests that carry an Origin.

    Without Origin it adds nothing (`always_send=False`), yet matching its resources and
    reading the headers costs about a tenth of a request's time; browsers always send Origin.
    """
    hooks = app.after_request_funcs[None]
    added = hooks[hooks_before_cors:]
    if len(added) != 1:  # a flask-cors that works otherwise: leave its hooks as they are
        logger.warning("flask-cors added %d after-request steps; expected one", len(added))
        return
    cors_step = cast("Callable[[Response], Response]", added[0])

    def cors_for_origins(response: Response) -> Response:
        if "HTTP_ORIGIN" not in request.environ:
            return response
        return cors_step(response)

    hooks[-1] = cors_for_origins


def initial_conditions(settings: Settings) -> Conditions:
    """The latency and error rate the settings ask for; MockServerError when malformed."""
    try:
        latency = parse_latency(settings.latency) if settings.latency else None
        return Conditions(latency=latency, error_rate=settings.error_rate)
    except (InvalidLatency, ValueError) as exc:
        raise MockServerError(str(exc)) from exc
