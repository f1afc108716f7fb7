"""What one app instance owns (settings, contract, store, journal, traffic), and how to reach it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Response, current_app

from mock_server.contract.openapi import RequestResponseValidator
from mock_server.contract.spec import Spec
from mock_server.core.domain import CustomerSession
from mock_server.core.service import SessionService
from mock_server.core.store import preload
from mock_server.fixtures.generator import GeneratorOptions, SessionGenerator
from mock_server.fixtures.sessions import load_fixture_sessions
from mock_server.http.journal import RequestJournal
from mock_server.play.conditions import Conditions, TrafficControl
from mock_server.settings import Settings

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
    # flask-cors's response step, run by the pipeline for requests that carry an Origin.
    cors_step: Callable[[Response], Response] | None = None
    _generators: dict[tuple[int, int], SessionGenerator] = field(default_factory=dict)
    _fixture_sessions: list[CustomerSession] | None = None

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

    def generated_session(
        self, seed: int | None, application_id: int, integration_id: str
    ) -> CustomerSession:
        """The session a seed (None: the server's own) generates for an id."""
        seed = self.settings.seed if seed is None else seed
        return self.generator(seed, application_id).session_for(integration_id)

    def preload(self) -> None:
        """Fill the store with the fixture sessions, or the generated ones of every app."""
        self.preloaded_ids.clear()
        if self.settings.fixtures_path is not None:
            if self._fixture_sessions is None:  # read and checked once, reused by resets
                self._fixture_sessions = load_fixture_sessions(
                    self.settings.fixtures_path, self.spec
                )
            preload(self.service.store, self._fixture_sessions)
            self.preloaded_ids.extend(s.integration_id for s in self._fixture_sessions)
            unreachable = {s.application_id for s in self._fixture_sessions}
            unreachable -= self.settings.application_ids()
            if unreachable:
                logger.warning(
                    "fixture sessions of application(s) %s are loaded, but no API key acts "
                    "for them; bind one with --api-key KEY=APPLICATION_ID",
                    ", ".join(map(str, sorted(unreachable))),
                )
            return
        for application_id in sorted(self.settings.application_ids()):
            seed = self.settings.seed
            if application_id != self.settings.default_application_id:
                # Other applications get other session ids: the same id in two applications
                # would be two sessions, and would look like one leaking across keys.
                seed = seed * 1_000_003 + application_id
            sessions = list(self.generator(seed, application_id).sessions(self.settings.preload))
            preload(self.service.store, sessions)
            if not self.preloaded_ids:
                self.preloaded_ids.extend(s.integration_id for s in sessions)


def state_of(app: Flask) -> MockState:
    """The state of an app, outside of a request too."""
    state: MockState = app.extensions[EXTENSION]
    return state


def mock_state() -> MockState:
    """The state of the app handling the current request."""
    return state_of(current_app)
