"""The application factory: one Flask app, its own store, its contract and its rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from flask import Flask, Response
from flask_cors import CORS

from mock_server.contract.compiled import contract_validator
from mock_server.contract.schemas import compile_schema
from mock_server.contract.spec import load_spec
from mock_server.core.errors import MockServerError
from mock_server.core.service import Clock, SessionService, utc_now
from mock_server.core.store import SessionStore
from mock_server.http import api
from mock_server.http.admin import admin
from mock_server.http.delivery import Delivery
from mock_server.http.errors import register_error_handlers
from mock_server.http.framing import StrictFraming, raise_refusal
from mock_server.http.inspector import inspector
from mock_server.http.journal import RequestJournal
from mock_server.http.pipeline import finish_response
from mock_server.http.state import EXTENSION, MockState
from mock_server.play.conditions import Conditions, TrafficControl
from mock_server.play.latency import InvalidLatency, parse_latency
from mock_server.settings import Settings
from mock_server.stores import open_store

logger = logging.getLogger("mock_server")


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
        error_schema=compile_schema(spec, "ErrorResponse"),
        service=SessionService(store, clock),
        journal=RequestJournal(settings.journal_size),
        traffic=TrafficControl(initial_conditions(settings)),
    )
    state.preload()
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    # Before every blueprint's own steps: a request the framing step refused goes no further.
    app.before_request(raise_refusal)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.docs)
    app.register_blueprint(admin)
    app.register_blueprint(inspector)
    app.after_request(finish_response)
    state.cors_step = _cors_step(app, settings)
    framed = StrictFraming(app.wsgi_app, settings.max_body_bytes)
    app.wsgi_app = Delivery(framed, state.journal)  # type: ignore[method-assign]
    return app


def _cors_step(app: Flask, settings: Settings) -> Callable[[Response], Response] | None:
    """flask-cors's response step, taken out of the app's hooks for the pipeline to run.

    Browsers may call the API and read the contract; the admin API and the inspector stay
    same-origin. The
    pipeline runs the step only for requests that carry an Origin: without one it adds nothing
    (`always_send=False`), yet matching its resources costs about a tenth of a request's time.
    """
    hooks = app.after_request_funcs.setdefault(None, [])
    before = len(hooks)
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
    added = hooks[before:]
    if len(added) != 1:  # a flask-cors that works otherwise: leave its hooks as they are
        logger.warning("flask-cors added %d after-request steps; expected one", len(added))
        return None
    del hooks[before:]
    return cast("Callable[[Response], Response]", added[0])


def initial_conditions(settings: Settings) -> Conditions:
    """The latency and error rate the settings ask for; MockServerError when malformed."""
    try:
        latency = parse_latency(settings.latency) if settings.latency else None
        return Conditions(latency=latency, error_rate=settings.error_rate)
    except (InvalidLatency, ValueError) as exc:
        raise MockServerError(str(exc)) from exc
