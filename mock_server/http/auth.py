"""The `api_key_v1` security scheme: `Authorization: ApiKey-v1 <key>` -> an application id."""

from __future__ import annotations

from collections.abc import Mapping

from mock_server.core.errors import ApiError

SCHEME = "apikey-v1"
HOW_TO = "Send the header 'Authorization: ApiKey-v1 <key>'."


def application_for(
    header: str | None, api_keys: Mapping[str, int], default_application_id: int
) -> int:
    """The application whose key the header carries; ApiError 401 otherwise.

    With no keys configured, any well-formed key acts for the default application.
    """
    if not header or not header.strip():
        raise ApiError.unauthorized(f"The Authorization header is missing. {HOW_TO}")
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != SCHEME:
        raise ApiError.unauthorized(f"The Authorization header is malformed. {HOW_TO}")
    key = parts[1]
    if not api_keys:
        return default_application_id
    try:
        return api_keys[key]
    except KeyError:
        raise ApiError.unauthorized("The API key is not valid for any application.") from None
