"""The mock's configuration: one frozen object, built from defaults, the environment or the CLI.

The one home of every default and every `CSM_*` variable: `serve`, the gunicorn entry
(`wsgi.py`), tests and the pytest plugin all start from `Settings`, and the command line's
options take their defaults from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "CSM_"
# Where `serve`, the gunicorn entry and every other door keep sessions unless told otherwise:
# a file under ./data, so state survives a restart.
DEFAULT_STORE_URL = "sqlite:///data/customer-sessions.db"
LOG_FORMATS = ("text", "json")
VALIDATORS = ("compiled", "openapi-core")
DEFAULT_APPLICATION_ID = 1
# Seed of generated sessions: the server's preload, the fixtures command and the pytest plugin.
DEFAULT_SEED = 42


def parse_api_keys(specs: str | list[str] | tuple[str, ...]) -> dict[str, int]:
    """Parse `KEY[=APPLICATION_ID]` items (a list, or one string separated by commas or spaces)."""
    items = re.split(r"[,\s]+", specs) if isinstance(specs, str) else list(specs)
    keys: dict[str, int] = {}
    for item in (raw.strip() for raw in items):
        if not item:
            continue
        key, sep, application = item.partition("=")
        if not key or any(ch.isspace() for ch in key):
            raise ValueError(f"invalid API key {key!r}: it must be non-empty, without spaces")
        try:
            keys[key] = int(application) if sep else DEFAULT_APPLICATION_ID
        except ValueError:
            raise ValueError(
                f"invalid application id {application!r} for API key {key!r}"
            ) from None
    return keys


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True)
class Settings:
    """Everything that shapes one mock server; every field has a usable default."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Seed of every generated session: the same seed gives the same sessions, byte for byte.
    seed: int = DEFAULT_SEED
    # How many generated sessions the store holds at start.
    preload: int = 24
    # API key -> application id. Empty: any well-formed key is accepted for the default app.
    api_keys: Mapping[str, int] = field(default_factory=dict)
    default_application_id: int = DEFAULT_APPLICATION_ID
    # Validate every answer against openapi.yaml; off only to measure the cost.
    validate_responses: bool = True
    # "compiled": validators built once from openapi.yaml, openapi-core naming the errors;
    # "openapi-core": openapi-core alone on every call (slower, for comparison).
    validator: str = "compiled"
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 32
    spec_path: Path | None = None
    # Delay of every API answer: "50ms", a uniform "20-200ms", a lognormal "median=80ms,sigma=0.4".
    latency: str | None = None
    # Share of API requests answered with a documented error (409 for a PUT, 400 for a GET).
    error_rate: float = 0.0
    # A PUT while another PUT of the same session is in flight gets 409, as the real API answers.
    parallel_conflicts: bool = True
    # Origins browsers may call from; "*" allows every origin.
    cors_origins: tuple[str, ...] = ("*",)
    # Without a token the admin API answers loopback clients only.
    admin_token: str | None = None
    # How many requests the journal keeps.
    journal_size: int = 1000
    # A fixture file or folder whose sessions the store starts with, instead of generated ones.
    fixtures_path: Path | None = None
    # Where sessions live: memory://, sqlite:///path/to/file.db or redis://host:port/db.
    store_url: str = DEFAULT_STORE_URL
    # Seconds after its last write that a session of a shared store expires; 0 keeps it.
    session_ttl: int = 0
    # Worker processes (more than one: gunicorn, and a store processes share) and threads each:
    # a thread per client being answered, so slow clients cannot hold a worker hostage.
    workers: int = 1
    threads: int = 32
    # One readable line per request ("text"), or one JSON object per line ("json").
    log_format: str = "text"

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}"
            for name, ok, rule in (
                ("port", 0 <= self.port <= 65535, "within 0..65535"),
                ("preload", self.preload >= 0, ">= 0"),
                ("max_body_bytes", self.max_body_bytes >= 1, ">= 1"),
                ("max_json_depth", self.max_json_depth >= 1, ">= 1"),
                ("error_rate", 0 <= self.error_rate <= 1, "within 0..1"),
                ("journal_size", self.journal_size >= 0, ">= 0"),
                ("session_ttl", self.session_ttl >= 0, ">= 0"),
                ("workers", self.workers >= 1, ">= 1"),
                ("threads", self.threads >= 1, ">= 1"),
                ("validator", self.validator in VALIDATORS, "one of " + ", ".join(VALIDATORS)),
                ("log_format", self.log_format in LOG_FORMATS, "one of " + ", ".join(LOG_FORMATS)),
            )
            if not ok
        ]
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `CSM_*` variables (CSM_PORT, CSM_API_KEYS, ...), then overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(ENV_PREFIX + spec.name.upper())
            if raw is None:
                continue
            values[spec.name] = _convert(spec.name, raw)
        return replace(cls(**values), **overrides)

    def application_ids(self) -> frozenset[int]:
        """Every application that a configured key (or the default) can act for."""
        return frozenset(self.api_keys.values()) or frozenset({self.default_application_id})


def _convert(name: str, raw: str) -> Any:
    if name == "api_keys":
        return parse_api_keys(raw)
    if name in {"validate_responses", "parallel_conflicts"}:
        return _parse_bool(raw)
    if name == "error_rate":
        return float(raw)
    if name == "cors_origins":
        return tuple(origin.strip() for origin in raw.split(",") if origin.strip())
    if name in {"latency", "admin_token"}:
        return raw or None
    if name in ("spec_path", "fixtures_path"):
        return Path(raw)
    if name in {"host", "store_url", "validator", "log_format"}:
        return raw
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be an integer, not {raw!r}") from None


def default(name: str) -> Any:
    """The default of one setting, for the command line to show and fall back to."""
    for spec in fields(Settings):
        if spec.name == name:
            if spec.default_factory is not MISSING:
                return spec.default_factory()
            return spec.default
    raise KeyError(name)
