"""The admin API under /__admin/: sessions, reset, fixtures, the request journal, conditions.

It is outside the contract (openapi.yaml does not list it) and needs no API key; it answers
loopback clients that name this server in `Host`, or any client that sends the admin token.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from flask import Blueprint, Request, Response, jsonify, request

from mock_server.contract.sessions import InvalidRecord, check_sessions
from mock_server.core.domain import CustomerSession
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.core.store import put_sessions
from mock_server.http.state import mock_state
from mock_server.play.faults import FAULTS, client_socket
from mock_server.play.latency import InvalidLatency, parse_latency
from mock_server.wire import codec
from mock_server.wire.body import parse_json_bytes

admin = Blueprint("admin", __name__, url_prefix="/__admin")
TOKEN_HEADER = "X-Admin-Token"
UPLOAD_SOURCE = "POST /__admin/fixtures"


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
    if name == "localhost" or name == mock_state().settings.host.lower():
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


@admin.before_request
def allow_local_or_token() -> None:
    """Loopback clients, or the holder of the admin token; everyone else gets 403."""
    if request.method == "OPTIONS":
        return
    token = mock_state().settings.admin_token
    sent = request.headers.get(TOKEN_HEADER, "")
    if token and hmac.compare_digest(sent.encode(), token.encode()):
        return
    # A web page's request carries an Origin: without the token it must not drive the admin API
    # of a mock on the developer's machine.
    if not _is_loopback(request.remote_addr) or "Origin" in request.headers:
        raise ApiError(
            403,
            "The admin API answers loopback clients or the admin token only",
            [ErrorItem("Forbidden", f"Send the {TOKEN_HEADER} header.", parameter=TOKEN_HEADER)],
        )
    if not _names_this_server(request):
        raise ApiError(
            403,
            "The admin API answers requests that name this server in Host",
            [
                ErrorItem(
                    "Forbidden",
                    "Host must be localhost, a loopback address or the address served, "
                    f"unless the {TOKEN_HEADER} header is sent.",
                    parameter="Host",
                )
            ],
        )


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


@admin.get("/sessions")
def list_sessions() -> Response:
    """Every stored session (of `?applicationId=`), oldest first."""
    sessions = mock_state().service.store.list(_application_filter())
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
    """Back to the preloaded sessions; the journal and conditions are kept."""
    state = mock_state()
    state.service.store.clear()
    state.preload()
    return jsonify({"sessions": len(state.service.store.list())})


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


@admin.get("/requests")
def list_requests() -> Response:
    """The journal, newest first; `?sessionId=` and `?limit=` narrow it."""
    limit = _count_parameter("limit")
    entries = mock_state().journal.entries(request.args.get("sessionId"))
    shown = entries if limit is None else entries[:limit]
    # "meta.total", as WireMock's journal has it: how many matched before the limit.
    return jsonify(
        {"requests": [entry.to_json() for entry in shown], "meta": {"total": len(entries)}}
    )


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
