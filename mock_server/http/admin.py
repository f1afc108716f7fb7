"""The admin API under /__admin/: sessions, reset, fixtures, the request journal, conditions.

It is outside the contract (openapi.yaml does not list it) and needs no API key; it answers
loopback clients that name this server in `Host`, or any client that sends the admin token (or
the inspector's cookie that logging in with the token sets).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import ipaddress
import os
import re
import time
from collections import Counter
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Request, Response, jsonify, request

from mock_server.contract.sessions import InvalidRecord, check_sessions
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.core.store import put_sessions
from mock_server.fixtures.files import write_records
from mock_server.http.journal import JournalFilter, masked_secret
from mock_server.http.state import mock_state
from mock_server.play.faults import FAULTS, client_socket
from mock_server.play.latency import InvalidLatency, parse_latency
from mock_server.stores import describe_store
from mock_server.wire import codec
from mock_server.wire.body import parse_json_bytes

if TYPE_CHECKING:
    from mock_server.core.domain import CustomerSession

admin = Blueprint("admin", __name__, url_prefix="/__admin")
TOKEN_HEADER = "X-Admin-Token"
UPLOAD_SOURCE = "POST /__admin/fixtures"
# Set by the inspector's login form; holds a value derived from the token, not the token.
ADMIN_COOKIE: Final = "csm_admin"
_COOKIE_CONTEXT: Final = b"customer-session-mock admin cookie v1"
_STATUS_FILTER: Final = re.compile(r"[1-5](\d\d|xx)|fault")


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str | None) -> IpAddress | None:
    """An IP address, an IPv4-mapped IPv6 one (::ffff:127.0.0.1, as a dual-stack listener sees
    IPv4 clients) as the IPv4 address it is; None for anything else."""
    try:
        address = ipaddress.ip_address((text or "").split("%", 1)[0])
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _is_loopback(address: str | None) -> bool:
    ip = _ip(address)
    return ip is not None and ip.is_loopback


def _host_name(host: str) -> str:
    """The name of a Host header: `[::1]:8080` -> `::1`, `LocalHost.:8080` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:  # name:port (a bare IPv6 address has more colons)
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _names_this_server(current: Request) -> bool:
    """True when `Host` names this server: localhost, a loopback address, the --host, or the
    address the connection came in on.

    A web page whose DNS name rebinds to 127.0.0.1 reaches a loopback listener from the
    developer's own browser, without an Origin on same-origin GETs; its Host is its own name.
    """
    host = current.headers.get("Host")
    if host is None:  # HTTP/1.0 without Host: no browser sends that
        return True
    name = _host_name(host)
    # Names under .localhost are loopback by definition (RFC 6761), as browsers resolve them.
    if name in ("localhost", mock_state().settings.host.lower()) or name.endswith(".localhost"):
        return True
    ip = _ip(name)
    if ip is None:
        return False
    if ip.is_loopback:
        return True
    sock = client_socket(current.environ)
    return sock is not None and ip == _ip(str(sock.getsockname()[0]))


def _bad_request(
    details: str, *, pointer: str | None = None, parameter: str | None = None
) -> ApiError:
    return ApiError.bad_request(
        "Invalid admin request", [ErrorItem("Invalid value", details, pointer, parameter)]
    )


def admin_cookie_value(token: str) -> str:
    """The inspector cookie's value for an admin token (a MAC of it, so no copy of the token)."""
    return hmac.new(token.encode(), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()


def _from_own_origin() -> bool:
    """No Origin (curl, a navigation, a same-origin GET) or this server's own origin."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def access_refusal() -> ApiError | None:
    """None when the current request may use the admin API (and the inspector); else its 403.

    - the admin token in the `X-Admin-Token` header: from anywhere (a web page of another
      origin cannot send that header: the admin API grants no CORS preflight);
    - the inspector's cookie (set by logging in with the token), from this server's own pages;
    - a loopback client that names the server by a loopback name, from no page or our own.
      The Host check keeps a DNS-rebound page (its Origin is "its own" too) out, and the
      Origin check keeps out the pages of other local servers (another port is another origin).
    """
    token = mock_state().settings.admin_token
    if token:
        sent = request.headers.get(TOKEN_HEADER, "")
        if hmac.compare_digest(sent.encode(), token.encode()):
            return None
        cookie = request.cookies.get(ADMIN_COOKIE, "")
        if hmac.compare_digest(cookie.encode(), admin_cookie_value(token).encode()):
            if _from_own_origin():
                return None
    if _is_loopback(request.remote_addr):
        if not _names_this_server(request):
            why, where = (
                "A loopback client must name this server in Host (localhost, a loopback "
                f"address, --host or the address served), not {request.host!r}; or send the "
                f"{TOKEN_HEADER} header.",
                "Host",
            )
        elif not _from_own_origin():
            why, where = (
                f"Pages of other origins may not use it; send the {TOKEN_HEADER} header.",
                "Origin",
            )
        else:
            return None
    else:
        why, where = (
            f"Send the {TOKEN_HEADER} header, or log in to the inspector with the token.",
            TOKEN_HEADER,
        )
    return ApiError(
        403,
        "The admin API answers loopback clients or the admin token only",
        [ErrorItem("Forbidden", why, parameter=where)],
    )


@admin.before_request
def allow_local_or_token() -> None:
    """Loopback clients, or the holder of the admin token; everyone else gets 403."""
    if request.method == "OPTIONS":
        return
    refusal = access_refusal()
    if refusal is not None:
        raise refusal


# Query integers: ASCII digits only (str.isdigit and int() take '²' or Arabic-Indic digits)
# and few of them (int() refuses more than 4,300 digits with a ValueError of its own).
MAX_QUERY_DIGITS = 9


def _count_parameter(name: str) -> int | None:
    """A non-negative integer query parameter, or None when absent; a 400 when malformed."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_QUERY_DIGITS):
        raise _bad_request(
            f"{name} must be a non-negative integer of at most {MAX_QUERY_DIGITS} digits",
            parameter=name,
        )
    return int(raw)


def _application_filter() -> int | None:
    return _count_parameter("applicationId")


def _find(session_id: str) -> CustomerSession:
    application_id = _application_filter()
    matches = [
        s for s in mock_state().service.store.list(application_id) if s.integration_id == session_id
    ]
    if not matches:
        raise ApiError.not_found(session_id)
    if len(matches) > 1:
        apps = ", ".join(str(s.application_id) for s in matches)
        raise _bad_request(
            f"session {session_id!r} exists in applications {apps}; name one",
            parameter="applicationId",
        )
    return matches[0]


def find_sessions(application_id: int | None, text: str | None) -> list[CustomerSession]:
    """Stored sessions (of one application) whose integration id or profile id has `text`."""
    sessions = mock_state().service.store.list(application_id)
    if not text:
        return sessions
    needle = text.casefold()
    return [
        s
        for s in sessions
        if needle in s.integration_id.casefold() or needle in s.profile_id.casefold()
    ]


def ndjson_download(sessions: list[CustomerSession], filename: str) -> Response:
    """Sessions as an NDJSON fixture file (`serve --fixtures` and POST /fixtures read it)."""
    buffer = io.BytesIO()
    write_records((codec.session_to_json(s) for s in sessions), buffer, "ndjson")
    return Response(
        buffer.getvalue(),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@admin.get("/sessions")
def list_sessions() -> Response:
    """Every stored session (of `?applicationId=`), oldest first.

    `?q=` keeps those whose integration id or profile id contains it (any case);
    `?format=ndjson` answers a fixture file to download instead.
    """
    application_id = _application_filter()
    sessions = find_sessions(application_id, request.args.get("q"))
    answer_format = request.args.get("format", "json")
    if answer_format == "ndjson":
        suffix = "" if application_id is None else f"-application-{application_id}"
        return ndjson_download(sessions, f"sessions{suffix}.ndjson")
    if answer_format != "json":
        raise _bad_request("format must be json or ndjson", parameter="format")
    return jsonify({"sessions": [codec.session_to_json(s) for s in sessions]})


@admin.get("/sessions/<path:session_id>")
def get_session(session_id: str) -> Response:
    """One stored session, whatever its application (or `?applicationId=`)."""
    return jsonify(codec.session_to_json(_find(session_id)))


@admin.delete("/sessions/<path:session_id>")
def delete_session(session_id: str) -> Response:
    """Forget one session."""
    session = _find(session_id)
    mock_state().service.store.delete(session.application_id, session.integration_id)
    return Response(status=204)


@admin.post("/reset")
def reset() -> Response:
    """Back to the preloaded sessions; the journal and conditions are kept.

    `?applicationId=` resets that application only: its sessions are deleted and its preloaded
    ones stored again. The profiles' first sessions are kept, as a DELETE of one session keeps
    them (the store forgets profiles only all at once).
    """
    state = mock_state()
    application_id = _application_filter()
    store = state.service.store
    if application_id is None:
        store.clear()
        state.preload()
        return jsonify({"sessions": len(store.list())})
    for session in store.list(application_id):
        store.delete(application_id, session.integration_id)
    state.preload(application_id)
    return jsonify({"sessions": len(store.list(application_id)), "applicationId": application_id})


@admin.post("/fixtures")
def load_fixtures() -> Response:
    """Add (or replace) sessions given as a JSON array of CustomerSessionV2 documents."""
    state = mock_state()
    # Read as the API reads bodies: NaN, Infinity and numbers beyond a double are refused.
    body = request.get_data(cache=True)
    documents = parse_json_bytes(body, max_depth=state.settings.max_json_depth)
    if not isinstance(documents, list):
        raise _bad_request("expected a JSON array of CustomerSessionV2 documents", pointer="")
    # The same checks as a fixture file gets: one checker for every door.
    records = ((UPLOAD_SOURCE, index, document) for index, document in enumerate(documents))
    try:
        sessions = check_sessions(records, state.spec)
    except InvalidRecord as exc:
        pointer = f"/{exc.index}" + ("" if exc.pointer == "/" else exc.pointer)
        raise ApiError.bad_request(
            "Invalid fixtures", [ErrorItem("Invalid session", exc.reason, pointer=pointer)]
        ) from None
    count = put_sessions(state.service.store, sessions)
    return jsonify({"loaded": count, "sessionIds": [s.integration_id for s in sessions]})


def _journal_filter() -> JournalFilter:
    args = request.args
    status = args.get("status") or None
    if status is not None and not _STATUS_FILTER.fullmatch(status):
        raise _bad_request(
            "status must be a code (404), a class (4xx) or fault", parameter="status"
        )
    has_problems = args.get("hasProblems")
    if has_problems not in (None, "true", "false"):
        raise _bad_request("hasProblems must be true or false", parameter="hasProblems")
    return JournalFilter(
        session_id=args.get("sessionId"),
        application_id=_application_filter(),
        method=args.get("method") or None,
        status=status,
        has_problems=None if has_problems is None else has_problems == "true",
        after=_count_parameter("after") or 0,
    )


@admin.get("/requests")
def list_requests() -> Response:
    """The journal, newest first, with each answer.

    `?sessionId=`, `?applicationId=`, `?method=`, `?status=` (404, 4xx or fault),
    `?hasProblems=true|false` and `?after=<id>` (newer entries only) narrow it; `?limit=` cuts it.
    """
    limit = _count_parameter("limit")
    where = _journal_filter()
    everything = mock_state().journal.entries()  # one snapshot: `lastId` is the newest seen
    entries = [entry for entry in everything if where.matches(entry)]
    shown = entries if limit is None else entries[:limit]
    # "meta.total", as WireMock's journal has it: how many matched before the limit.
    meta = {"total": len(entries), "lastId": everything[0].id if everything else 0}
    return jsonify({"requests": [entry.to_json(full=True) for entry in shown], "meta": meta})


@admin.get("/requests/<int:entry_id>")
def get_request(entry_id: int) -> Response:
    """One journal entry, while the journal keeps it."""
    entry = mock_state().journal.get(entry_id)
    if entry is None:
        raise ApiError(
            404,
            "No such journal entry",
            [ErrorItem("Not found", f"The journal keeps no entry {entry_id}.", parameter="id")],
        )
    return jsonify(entry.to_json(full=True))


@admin.delete("/requests")
def clear_requests() -> Response:
    """Empty the journal."""
    mock_state().journal.clear()
    return Response(status=204)


@admin.get("/conditions")
def get_conditions() -> Response:
    """The latency, error rate and fault every API request gets now."""
    return jsonify(mock_state().traffic.conditions.to_json())


def _changes(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise _bad_request("expected a JSON object", pointer="")
    known = {"latency", "errorRate", "fault", "faultRate"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise _bad_request(f"unknown field {unknown[0]!r}", pointer=f"/{unknown[0]}")
    changes: dict[str, Any] = {}
    if "latency" in document:
        latency = document["latency"]
        try:
            changes["latency"] = None if latency is None else parse_latency(str(latency))
        except InvalidLatency as exc:
            raise _bad_request(str(exc), pointer="/latency") from None
    for field, name in (("errorRate", "error_rate"), ("faultRate", "fault_rate")):
        if field in document:
            value = document[field]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise _bad_request(f"{field} must be a number within 0..1", pointer=f"/{field}")
            changes[name] = float(value)
    if "fault" in document:
        fault = document["fault"]
        if fault is not None and fault not in FAULTS:
            raise _bad_request(
                f"fault must be null or one of {', '.join(FAULTS)}", pointer="/fault"
            )
        changes["fault"] = fault
    return changes


@admin.put("/conditions")
def set_conditions() -> Response:
    """Change some conditions: `{"latency": "20-200ms", "errorRate": 0.1, "fault": null}`."""
    state = mock_state()
    # Read as the API reads bodies: strict, and bounded in depth (100,000 brackets are a 400).
    document = parse_json_bytes(
        request.get_data(cache=True), max_depth=state.settings.max_json_depth
    )
    return jsonify(state.traffic.update(**_changes(document)).to_json())


@admin.delete("/conditions")
def clear_conditions() -> Response:
    """No latency, no errors, no faults."""
    return jsonify(mock_state().traffic.clear().to_json())


def _shown_setting(name: str, value: Any) -> Any:
    if name == "admin_token":
        return "set" if value else None
    if name == "store_url":
        return describe_store(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def server_info(base_url: str) -> dict[str, Any]:
    """What the inspector's Server view shows: where, what, since when, how much."""
    state = mock_state()
    settings = state.settings
    store = state.service.store
    keys_of: dict[int, list[str]] = {}
    for key, application_id in sorted(settings.api_keys.items()):
        keys_of.setdefault(application_id, []).append(masked_secret(key))
    stored = Counter(s.application_id for s in store.list())
    applications = sorted(settings.application_ids() | set(stored))
    journal = state.journal
    try:
        package_version = version("customer-session-mock")
    except PackageNotFoundError:  # run from a source tree that was never installed
        package_version = "unknown"
    return {
        "url": base_url.rstrip("/"),
        "version": package_version,
        "pid": os.getpid(),
        "startedAt": codec.format_time(state.started),
        "uptimeSeconds": round(time.monotonic() - state.started_monotonic, 1),
        "seed": settings.seed,
        "store": describe_store(settings.store_url),
        "fixtures": None if settings.fixtures_path is None else str(settings.fixtures_path),
        # With no key configured, any well-formed key acts for the default application.
        "anyKey": not settings.api_keys,
        "applications": [
            {
                "applicationId": application_id,
                "keys": keys_of.get(application_id, []),
                "default": application_id == settings.default_application_id,
                "sessions": stored[application_id],
            }
            for application_id in applications
        ],
        "settings": {
            spec.name: _shown_setting(spec.name, getattr(settings, spec.name))
            for spec in fields(settings)
            if spec.name != "api_keys"  # shown, masked, under applications
        },
        "conditions": state.traffic.conditions.to_json(),
        "journal": {
            "recorded": journal.recorded,
            "withProblems": journal.recorded_with_problems,
            "kept": len(journal),
            "capacity": journal.capacity,
        },
    }


@admin.get("/info")
def get_info() -> Response:
    """The server's URL, seed, store, tenancy (keys masked), settings, uptime and counts."""
    return jsonify(server_info(request.host_url))
