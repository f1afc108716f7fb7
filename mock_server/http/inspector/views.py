"""The inspector's pages at /__admin/ui/, behind the admin API's access rule.

Pages are rendered here (Jinja escapes every value); `static/inspector.js` adds the live
request list, the "try it" form and the confirmations. The data comes from the admin API's
own functions, so the pages show what `/__admin/*` answers.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

import swagger_ui_bundle
from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue

from mock_server.core.domain import compute_totals
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.http.admin import (
    ADMIN_COOKIE,
    access_refusal,
    admin_cookie_value,
    find_sessions,
    server_info,
)
from mock_server.http.inspector.highlight import anchors, marked_json, pointer_tokens
from mock_server.http.inspector.snippets import curl_command, pretty_json, sdk_call
from mock_server.http.state import MockState, mock_state
from mock_server.play.faults import FAULTS
from mock_server.wire import codec

if TYPE_CHECKING:
    from mock_server.core.domain import CustomerSession
    from mock_server.http.journal import JournalEntry

PREFIX: Final = "/__admin/ui"
inspector = Blueprint(
    "inspector",
    __name__,
    static_folder="static",
    static_url_path=f"{PREFIX}/static",
    template_folder="templates",
)
# Reachable without the admin token: nothing in them comes from the store or the journal.
OPEN_ENDPOINTS: Final = frozenset({"inspector.static", "inspector.login", "inspector.root"})
# Request data is only ever text: no inline script, no script from elsewhere, no framing.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# Swagger UI sets style attributes from its script.
CONTRACT_CSP: Final = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
SWAGGER_ASSETS: Final = frozenset(
    {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.map", "swagger-ui.css.map"}
)
SHOWN_SESSIONS: Final = 200
SESSION_OPERATIONS: Final = (("put", "PUT"), ("get", "GET"))
SESSION_TEMPLATE: Final = "/v2/customer_sessions/{customerSessionId}"
NAV: Final = (
    ("requests", "inspector.requests_page", "Requests"),
    ("sessions", "inspector.sessions_page", "Sessions"),
    ("try", "inspector.try_page", "Try it"),
    ("contract", "inspector.contract_page", "Contract"),
    ("server", "inspector.server_page", "Server"),
)


def _base_url() -> str:
    return request.host_url.rstrip("/")


@inspector.context_processor
def _navigation() -> dict[str, Any]:
    return {"NAV": NAV}


@inspector.before_request
def allow_local_or_token() -> ResponseReturnValue | None:
    """The admin API's rule; a refused person gets the token form, a refused script its 403."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    refusal = access_refusal()
    if refusal is None:
        return None
    if request.endpoint == "inspector.snippets":
        raise refusal
    return _login_page(refusal.errors[0].details or refusal.message, 403)


@inspector.after_request
def protect(response: Response) -> Response:
    """Headers that keep request data inert and the pages out of other sites' frames."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint not in ("inspector.static", "inspector.contract_asset"):
        response.headers["Cache-Control"] = "no-store"
    return response


@inspector.get("/")
def root() -> ResponseReturnValue:
    """A person who opens the server's address lands on the inspector."""
    return redirect(url_for("inspector.requests_page"))


# -- access for people: the token, once, in a form ------------------------------------------


def _login_page(reason: str | None, status: int) -> tuple[str, int]:
    settings = mock_state().settings
    if request.method == "GET":
        next_path = request.full_path
    else:  # a wrong token: keep where the person was going
        next_path = _safe_next(request.form.get("next"))
    return (
        render_template(
            "inspector/login.html",
            view="login",
            reason=reason,
            has_token=settings.admin_token is not None,
            next_path=next_path.rstrip("?"),
        ),
        status,
    )


def _safe_next(path: str | None) -> str:
    """Only a page of the inspector: a login must not redirect anywhere else."""
    parts = urlsplit(path or "")
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/"):
        return url_for(".requests_page")
    return parts.path + (f"?{parts.query}" if parts.query else "")


@inspector.route(f"{PREFIX}/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The token form; a right token sets a cookie that the admin API accepts from our pages."""
    token = mock_state().settings.admin_token
    if request.method == "GET":
        return _login_page(None, 200)
    sent = request.form.get("token", "")
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        return _login_page("That is not the admin token.", 403)
    response = redirect(_safe_next(request.form.get("next")), code=303)
    response.set_cookie(
        ADMIN_COOKIE,
        admin_cookie_value(token),
        path="/__admin",
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return response


@inspector.post(f"{PREFIX}/logout")
def logout() -> ResponseReturnValue:
    """Forget the cookie."""
    response = redirect(url_for(".login"), code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/__admin")
    return response


# -- Requests -------------------------------------------------------------------------------


def _applications() -> list[int]:
    state = mock_state()
    stored = {s.application_id for s in state.service.store.list()}
    return sorted(state.settings.application_ids() | stored)


@inspector.get(f"{PREFIX}/")
def requests_page() -> str:
    """The journal as a live list; the script fills and refreshes it."""
    return render_template(
        "inspector/requests.html",
        view="requests",
        applications=_applications(),
        filters=request.args,
        capacity=mock_state().journal.capacity,
    )


@dataclass(frozen=True)
class Located:
    """A problem and the number it is shown under (the marks in the bodies carry it)."""

    number: int
    message: str
    pointer: str | None
    parameter: str | None


def _parameter_marks(problems: list[Located]) -> dict[str, list[int]]:
    marks: dict[str, list[int]] = {}
    for problem in problems:
        if problem.parameter is not None:
            marks.setdefault(problem.parameter.lower(), []).append(problem.number)
    return marks


def _entry_view(entry: JournalEntry) -> dict[str, Any]:
    data = entry.to_json(full=True)
    problems = [
        Located(number, p["message"], p.get("pointer"), p.get("parameter"))
        for number, p in enumerate(data["problems"], start=1)
    ]
    body = data["request"]["body"]
    truncated = entry.request_body_size > len(entry.request_body or b"")
    marked = None
    if body is not None and not truncated:
        marked = marked_json(body, [p.pointer for p in problems])
    url = _base_url() + entry.path + (f"?{entry.query}" if entry.query else "")
    response = data["response"]
    parameter_marks = _parameter_marks(problems)
    found = anchors(marked) if marked is not None else {}
    for numbers in parameter_marks.values():
        found.update((number, numbers[0]) for number in numbers)
    return {
        "entry": data,
        "problems": problems,
        "anchors": found,
        "parameter_marks": parameter_marks,
        "query": parse_qsl(entry.query, keep_blank_values=True),
        "marked_body": marked,
        "body_truncated": truncated,
        "response_body": pretty_json(response["body"]) if response else None,
        "curl": curl_command(
            entry.method, url, data["request"]["headers"], body, key_from_variable=True
        ),
        "has_key": "Authorization" in data["request"]["headers"],
    }


@inspector.get(f"{PREFIX}/requests/<int:entry_id>")
def request_page(entry_id: int) -> tuple[str, int]:
    """One exchange: what was asked, what was answered, what was wrong, and as curl."""
    entry = mock_state().journal.get(entry_id)
    if entry is None:
        page = render_template(
            "inspector/gone.html", view="request", section="requests", entry_id=entry_id
        )
        return page, 404
    page = render_template(
        "inspector/request.html", view="request", section="requests", **_entry_view(entry)
    )
    return page, 200


# -- Sessions -------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return repr(codec.json_number(value))


def _session_view(session: CustomerSession, history: list[JournalEntry]) -> dict[str, Any]:
    costs = dict(session.additional_costs or {})
    totals = compute_totals(session.cart_items, costs)
    adds_up = (totals.cart_item_total, totals.additional_cost_total, totals.total) == (
        session.cart_item_total,
        session.additional_cost_total,
        session.total,
    )
    document = codec.session_to_json(session)
    extras = {
        name: document[name]
        for name in ("couponCodes", "referralCode", "identifiers")
        if name in document
    }
    return {
        "session": session,
        "items": [
            {"item": item, "price": _money(item.price), "line_total": _money(item.line_total)}
            for item in session.cart_items
        ],
        "costs": [(name, _money(price)) for name, price in costs.items()],
        "cart_item_total": _money(session.cart_item_total),
        "additional_cost_total": _money(session.additional_cost_total),
        "total": _money(session.total),
        "adds_up": adds_up,
        "computed_total": _money(totals.total),
        "attributes": json.dumps(session.attributes, indent=2, ensure_ascii=False),
        "extras": extras,
        "created": document["created"],
        "updated": document["updated"],
        "history": history,
    }


def _history(state: MockState) -> dict[tuple[int | None, str | None], list[JournalEntry]]:
    by_session: dict[tuple[int | None, str | None], list[JournalEntry]] = {}
    for entry in state.journal.entries():
        by_session.setdefault((entry.application_id, entry.session_id), []).append(entry)
    return by_session


@inspector.get(f"{PREFIX}/sessions")
def sessions_page() -> str:
    """Stored sessions of one application (or all), searched by integration id or profile."""
    state = mock_state()
    applications = _applications()
    raw = request.args.get("applicationId")
    if raw is None:
        application_id: int | None = state.settings.default_application_id
        if application_id not in applications and applications:
            application_id = applications[0]
    elif raw == "":
        application_id = None
    else:
        try:
            application_id = int(raw)
        except ValueError:
            abort(400)
    query = request.args.get("q", "").strip()
    found = find_sessions(application_id, query)
    history = _history(state)
    shown = [
        _session_view(s, history.get((s.application_id, s.integration_id), []))
        for s in found[:SHOWN_SESSIONS]
    ]
    download: dict[str, Any] = {"format": "ndjson", "q": query}
    if application_id is not None:
        download["applicationId"] = str(application_id)
    return render_template(
        "inspector/sessions.html",
        view="sessions",
        applications=applications,
        application_id=application_id,
        query=query,
        sessions=shown,
        found=len(found),
        download_url=url_for("admin.list_sessions", **download),
    )


# -- Try it ---------------------------------------------------------------------------------


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = document
        for token in pointer_tokens(str(node["$ref"]).removeprefix("#")):
            target = target[token]
        node = target
    return node


def _examples(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every named response example of the session operations, for the scenario picker."""
    path = document["paths"][SESSION_TEMPLATE]
    for key, method in SESSION_OPERATIONS:
        for status, response in path[key]["responses"].items():
            media = _resolve(document, response).get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                summary = _resolve(document, example).get("summary", "")
                yield {"method": method, "status": status, "name": name, "summary": summary}


def _documented_statuses(document: Mapping[str, Any]) -> list[str]:
    path = document["paths"][SESSION_TEMPLATE]
    return sorted({status for key, _ in SESSION_OPERATIONS for status in path[key]["responses"]})


@inspector.get(f"{PREFIX}/try")
def try_page() -> str:
    """A form that builds, sends and explains one request of the API."""
    state = mock_state()
    document = state.spec.document
    return render_template(
        "inspector/try.html",
        view="try",
        api_key="" if state.settings.api_keys else "any-key",
        any_key=not state.settings.api_keys,
        session_id=f"try-{secrets.token_hex(3)}",
        statuses=_documented_statuses(document),
        examples=list(_examples(document)),
        faults=FAULTS,
        base_url=_base_url(),
    )


def _text_field(document: Mapping[str, Any], name: str, *, optional: bool = False) -> str:
    value = document.get(name)
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise ApiError.bad_request(
            "Invalid snippet request",
            [ErrorItem("Invalid value", f"{name} must be a string", pointer=f"/{name}")],
        )
    return value


@inspector.post(f"{PREFIX}/snippets")
def snippets() -> Response:
    """The request that the "try it" form built, as curl and as an SDK call (JSON)."""
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise ApiError.bad_request(
            "Invalid snippet request",
            [ErrorItem("Invalid value", "expected a JSON object", pointer="")],
        )
    method = _text_field(document, "method")
    session_id = _text_field(document, "sessionId")
    query = _text_field(document, "query", optional=True)
    body = _text_field(document, "body", optional=True) or None
    headers = document.get("headers")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ApiError.bad_request(
            "Invalid snippet request",
            [ErrorItem("Invalid value", "headers must map names to strings", pointer="/headers")],
        )
    path = _text_field(document, "path")
    url = _base_url() + path + (f"?{query}" if query else "")
    authorization = headers.get("Authorization", "")
    try:
        parsed_body = json.loads(body) if body else None
    except ValueError:
        parsed_body = None  # curl sends it as it is; the SDK call shows an empty session
    return jsonify(
        {
            "curl": curl_command(method, url, headers, body),
            "python": sdk_call(
                method,
                _base_url(),
                session_id,
                authorization.partition(" ")[2],
                parsed_body,
                dry="dry=true" in query.split("&"),
                prefer=headers.get("Prefer"),
            ),
        }
    )


# -- Contract -------------------------------------------------------------------------------


@inspector.get(f"{PREFIX}/contract")
def contract_page() -> Response:
    """openapi.yaml in Swagger UI, served from the swagger-ui-bundle package (no network)."""
    settings = mock_state().settings
    page = render_template(
        "inspector/contract.html",
        view="contract",
        any_key=not settings.api_keys,
    )
    return Response(page, headers={"Content-Security-Policy": CONTRACT_CSP})


@inspector.get(f"{PREFIX}/contract/openapi.json")
def contract_document() -> Response:
    """The contract for Swagger UI; the same as /openapi.json, but kept out of the journal."""
    return Response(mock_state().spec.as_json(), mimetype="application/json")


@inspector.get(f"{PREFIX}/contract/assets/<filename>")
def contract_asset(filename: str) -> Response:
    """Swagger UI's script and style sheet."""
    if filename not in SWAGGER_ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_bundle.swagger_ui_path), filename)


# -- Server ---------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    parts = [(days, "d"), (hour, "h"), (minute, "min"), (second, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value] or ["0 s"]
    return " ".join(shown[:2])


@inspector.get(f"{PREFIX}/server")
def server_page() -> str:
    """What this server is and has done: the admin API's /info, for people."""
    info = server_info(request.host_url)
    return render_template(
        "inspector/server.html",
        view="server",
        info=info,
        uptime=_duration(info["uptimeSeconds"]),
        # As JSON text, as /__admin/info has them: true, null, ["*"].
        conditions={name: json.dumps(value) for name, value in info["conditions"].items()},
        settings={name: json.dumps(value) for name, value in info["settings"].items()},
    )
