"""Issue item 9: ids are what the client sent.

Goal: "ids are what the client sent (invalid UTF-8 refused with 400 or kept byte-exact, not
folded)".
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.hostile.support import AUTH, JSON_BODY, MockServer, require, session_path


@pytest.mark.parametrize("kind", ["threaded", "workers"])
def test_invalid_utf8_ids_are_not_folded_together(
    request: pytest.FixtureRequest, kind: str
) -> None:
    """Desired: PUT a%FEb is refused (400), or GET a%FFb does not find its session."""
    server: MockServer = request.getfixturevalue(f"{kind}_mock")
    server.wait_ready(10)
    stem = uuid.uuid4().hex[:8]
    first, second = f"{stem}%FEb", f"{stem}%FFb"
    created = requests.put(
        server.url + session_path(first),
        data=json.dumps({"customerSession": {"profileId": "owner-of-FE"}}),
        headers=JSON_BODY,
        timeout=10,
    )
    if created.status_code == 400:
        return  # refused: nothing can be folded
    require(created.status_code == 200, f"{created.status_code}: {created.text[:200]}")
    other = requests.get(server.url + session_path(second), headers=AUTH, timeout=10)
    assert other.status_code in (400, 404), (
        f"GET {second} answered {other.status_code} with the session of {first}: {other.text[:160]}"
    )
