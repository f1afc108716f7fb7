"""The same request as a curl command and as a call of the official Python SDK.

Plain text for people to copy; the template escapes it like any other text.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any, Final

from mock_server.wire.sdk_names import snake_name

# Headers a person would not type: the client or the browser adds them.
UNTYPED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "user-agent",
        "accept-encoding",
        "accept-language",
        "cookie",
        "origin",
        "referer",
    }
)
KEY_VARIABLE: Final = "API_KEY"


def curl_command(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: str | None,
    *,
    key_from_variable: bool = False,
) -> str:
    """A curl command line (POSIX shell) that sends the request again.

    Args:
        key_from_variable: write the API key as `$API_KEY` (the journal keeps it masked).
    """
    lines = [f"curl -X {method} {shlex.quote(url)}"]
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in UNTYPED_HEADERS or lowered.startswith("sec-"):
            continue
        if lowered == "authorization" and key_from_variable:
            scheme = value.split(" ", 1)[0]
            # Double quotes: the shell must expand the variable.
            lines.append(f'-H "{name}: {scheme} ${KEY_VARIABLE}"')
            continue
        lines.append(f"-H {shlex.quote(f'{name}: {value}')}")
    if body:
        lines.append(f"--data-raw {shlex.quote(body)}")
    return " \\\n  ".join(lines)


def _literal(value: Any) -> str:
    """A Python literal of a JSON value, strings in double quotes as the rest of the script."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_literal(str(name))}: {_literal(item)}" for name, item in value.items())
        return "{" + ", ".join(pairs) + "}"
    return repr(value)  # True, False, None and numbers read the same in Python


def _cart_item(item: Mapping[str, Any]) -> str:
    arguments = ", ".join(f"{snake_name(name)}={_literal(value)}" for name, value in item.items())
    return f"talon_one.CartItem({arguments})"


def _session_arguments(session: Mapping[str, Any]) -> str:
    lines = []
    for name, value in session.items():
        if name == "cartItems" and isinstance(value, list):
            items = "".join(
                f"                {_cart_item(item)},\n" for item in value if isinstance(item, dict)
            )
            lines.append(f"            cart_items=[\n{items}            ],\n")
        elif name == "additionalCosts" and isinstance(value, dict):
            costs = "".join(
                f"                {_literal(name)}: "
                f"talon_one.AdditionalCost(price={_literal(cost.get('price'))}),\n"
                for name, cost in value.items()
                if isinstance(cost, dict)
            )
            lines.append(f"            additional_costs={{\n{costs}            }},\n")
        else:
            lines.append(f"            {snake_name(name)}={_literal(value)},\n")
    return "".join(lines)


def sdk_call(
    method: str,
    base_url: str,
    session_id: str,
    api_key: str,
    body: Any,
    *,
    dry: bool = False,
    prefer: str | None = None,
) -> str:
    """The request as a script using `talon_one` (PyPI talon-one-python-sdk)."""
    lines = [
        "import talon_one",
        "",
        f"configuration = talon_one.Configuration(host={_literal(base_url.rstrip('/'))})",
        f'configuration.api_key["Authorization"] = {_literal(api_key)}',
        'configuration.api_key_prefix["Authorization"] = "ApiKey-v1"',
    ]
    if prefer:
        lines += [
            "# The scenario travels in the Prefer header, sent with every call of this client.",
            "client = talon_one.ApiClient(configuration, "
            f'header_name="Prefer", header_value={_literal(prefer)})',
        ]
    else:
        lines.append("client = talon_one.ApiClient(configuration)")
    lines.append("api = talon_one.IntegrationApi(client)")
    if method == "GET":
        lines.append(f"answer = api.get_customer_session({_literal(session_id)})")
        lines.append("print(answer)")
        return "\n".join(lines) + "\n"
    body = body if isinstance(body, dict) else {}
    session = body.get("customerSession")
    session = session if isinstance(session, dict) else {}
    if "state" not in session:
        lines.append('# NewCustomerSessionV2 sends state="open" when none is given.')
    call = [
        "answer = api.update_customer_session_v2(",
        f"    {_literal(session_id)},",
        "    talon_one.IntegrationRequest(",
        "        customer_session=talon_one.NewCustomerSessionV2(\n"
        + _session_arguments(session)
        + "        ),",
    ]
    if "responseContent" in body:
        call.append(f"        response_content={_literal(body['responseContent'])},")
    call.append("    ),")
    if dry:
        call.append("    dry=True,")
    call.append(")")
    return "\n".join(lines + call) + "\nprint(answer)\n"


def pretty_json(text: str | None) -> str | None:
    """JSON text indented for reading; other text as it is."""
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
