"""What one app instance owns (settings, contract, store, journal, traffic), and how to reach it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, Response, current_app

from mock_server.contract.openapi import RequestResponseValidator
from mock_server.contract.schemas import CompiledSchema
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
    # The ErrorResponse schema, compiled once: a scenario's 404 is checked by it (see pipeline).
    error_schema: CompiledSchema
    preloaded_ids: list[str] = field(default_factory=list)
    journal: RequestJournal = field(default_factory=lambda: RequestJournal(1000))
    traffic: TrafficControl = field(default_factory=lambda: TrafficControl(Conditions()))
    # flask-cors's response step, run by the pipeline for requests that carry an Origin.
    cors_step: Callable[[Response], Response] | None = None
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

    def generated_session(
        self, seed: int | None, application_id: int, integration_id: str
    ) -> CustomerSession:
        """The session a seed (None: the server's own) generates for an id."""
        seed = self.settings.seed if seed is None else seed
        return self.generator(seed, application_id).session_for(integration_id)

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


def state_of(app: Flask) -> MockState:
    """The state of an app, outside of a request too."""
    state: MockState = app.extensions[EXTENSION]
    return state


def mock_state() -> MockState:
    """The state of the app handling the current request."""
    return state_of(current_app)
