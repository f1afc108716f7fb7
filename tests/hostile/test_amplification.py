"""Issue item 1, amplification: an error answer, its journal entry and its log line must not
grow faster than the request, and an invalid body must not cost more than a valid one.

Goal: "error lists capped (say the first 100 problems, with a count of the rest) and the
journal and log lines bounded in size".
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from tests.hostile.support import JSON_BODY, MAX_ERROR_ITEMS, MockServer, require, session_path

# Bounds a hardened mock keeps easily: 100 error items of ~200 bytes, a journal entry and a
# log line with a 16 KiB body excerpt and a capped problem list.
MAX_ERROR_ANSWER_BYTES = 64 * 1024
MAX_JOURNAL_ENTRY_BYTES = 64 * 1024
MAX_LOG_LINE_BYTES = 64 * 1024


def _vectors() -> dict[str, tuple[str, str, Any]]:
    return {
        # The case: 90 KB, two error items per element, 9.4 MB answered.
        "responseContent-30000-zeros": (
            "PUT",
            session_path("amp-response-content"),
            {"customerSession": {}, "responseContent": [0] * 30_000},
        ),
        # New: 4 KB of empty cart items, 16 error items per item (2.2 MB answered).
        "cartItems-1000-empty": (
            "PUT",
            session_path("amp-cart-items"),
            {"customerSession": {"cartItems": [{}] * 1000}},
        ),
        # New: the admin fixture upload, 13 error items per empty document.
        "admin-fixtures-2000-empty": ("POST", "/__admin/fixtures", [{}] * 2000),
    }


VECTORS = _vectors()


@pytest.mark.parametrize("vector", list(VECTORS))
def test_error_list_is_capped(threaded_mock: MockServer, vector: str) -> None:
    """Desired: a 400 lists at most the first 100 problems (plus a count of the rest)."""
    method, path, document = VECTORS[vector]
    body = json.dumps(document)
    answer = requests.request(
        method, threaded_mock.url + path, data=body, headers=JSON_BODY, timeout=30
    )
    require(answer.status_code == 400, answer.text[:300])
    require(answer.headers["Content-Type"].startswith("application/json"), answer.text[:300])
    count = len(answer.json()["errors"])
    assert count <= MAX_ERROR_ITEMS, (
        f"{count:,} error items, {len(answer.content):,} bytes answered "
        f"for a {len(body):,}-byte body"
    )
    assert len(answer.content) <= MAX_ERROR_ANSWER_BYTES, f"{len(answer.content):,} bytes"


def _journal_vectors() -> dict[str, dict[str, Any]]:
    return {
        # 20,000 problems, each one a line of the journal entry and of the access log.
        "responseContent-10000-zeros": {"customerSession": {}, "responseContent": [0] * 10_000},
        # New: one problem whose details echo the whole 150,000-item array (750 KB).
        "couponCodes-150000": {"customerSession": {"couponCodes": ["c"] * 150_000}},
    }


JOURNAL_VECTORS = _journal_vectors()


@pytest.mark.parametrize("vector", list(JOURNAL_VECTORS))
def test_journal_entry_and_log_line_are_bounded(threaded_mock: MockServer, vector: str) -> None:
    """Desired: whatever the request, its journal entry and its log line stay small."""
    integration_id = f"amp-journal-{uuid.uuid4().hex[:12]}"
    body = json.dumps(JOURNAL_VECTORS[vector])
    answer = requests.put(
        threaded_mock.url + session_path(integration_id), data=body, headers=JSON_BODY, timeout=30
    )
    require(answer.status_code == 400, answer.text[:300])
    journal = requests.get(
        threaded_mock.url + "/__admin/requests",
        params={"sessionId": integration_id, "limit": "1"},
        timeout=30,
    )
    require(journal.status_code == 200, journal.text[:300])
    (entry,) = journal.json()["requests"]
    entry_size = len(json.dumps(entry))
    log_sizes = [len(line) for line in threaded_mock.log_lines() if integration_id in line]
    require(log_sizes, "the request was not logged")
    assert entry_size <= MAX_JOURNAL_ENTRY_BYTES and max(log_sizes) <= MAX_LOG_LINE_BYTES, (
        f"journal entry {entry_size:,} bytes, log line {max(log_sizes):,} bytes "
        f"for a {len(body):,}-byte body"
    )


def test_invalid_body_costs_about_what_a_valid_one_costs(threaded_mock: MockServer) -> None:
    """Desired: refusing 30,000 invalid elements takes well under a second."""
    url = threaded_mock.url + session_path(f"amp-cost-{uuid.uuid4().hex[:12]}")
    valid = json.dumps({"customerSession": {}, "responseContent": ["customerSession"] * 30_000})
    started = time.monotonic()
    accepted = requests.put(url, data=valid, headers=JSON_BODY, timeout=30)
    valid_seconds = time.monotonic() - started
    require(accepted.status_code == 200, accepted.text[:300])

    invalid = json.dumps({"customerSession": {}, "responseContent": [0] * 30_000})
    started = time.monotonic()
    refused = requests.put(url, data=invalid, headers=JSON_BODY, timeout=30)
    invalid_seconds = time.monotonic() - started
    require(refused.status_code == 400, refused.text[:300])
    assert invalid_seconds < 1.0, (
        f"invalid {len(invalid):,}-byte body: {invalid_seconds:.2f} s; "
        f"valid {len(valid):,}-byte body: {valid_seconds:.2f} s"
    )


def _valid_elements_vectors() -> dict[str, Any]:
    return {
        # New: one error (maxItems), found by walking 200,000 valid strings one by one (1.8 s).
        "couponCodes-200000": {"customerSession": {"couponCodes": ["c"] * 200_000}},
        # New: 40,000 valid map values walked beside one bad field (3 s).
        "additionalCosts-40000-and-a-bad-state": {
            "customerSession": {
                "state": "bogus",
                "additionalCosts": {f"k{n}": {"price": 1} for n in range(40_000)},
            }
        },
    }


VALID_ELEMENTS = _valid_elements_vectors()


@pytest.mark.parametrize("vector", list(VALID_ELEMENTS))
def test_an_invalid_body_of_valid_elements_costs_little(
    threaded_mock: MockServer, vector: str
) -> None:
    """Desired: a 1 MB body with one problem beside many valid elements is refused fast: the
    validator must not walk each valid element to look for errors."""
    body = json.dumps(VALID_ELEMENTS[vector])
    started = time.monotonic()
    refused = requests.put(
        threaded_mock.url + session_path(f"amp-valid-{uuid.uuid4().hex[:12]}"),
        data=body,
        headers=JSON_BODY,
        timeout=30,
    )
    seconds = time.monotonic() - started
    require(refused.status_code == 400, refused.text[:300])
    assert seconds < 1.0, f"{len(body):,}-byte body refused in {seconds:.2f} s"


def test_long_keys_do_not_grow_an_error_answer(threaded_mock: MockServer) -> None:
    """New: pointers into a map name its keys; 100 keys of 9 KB each must not make a 900 KB
    answer (each pointer is cut back to an ancestor)."""
    costs = {f"{n:03d}" + "k" * 9000: {} for n in range(100)}
    body = json.dumps({"customerSession": {"additionalCosts": costs}})
    answer = requests.put(
        threaded_mock.url + session_path("amp-long-keys"), data=body, headers=JSON_BODY, timeout=30
    )
    require(answer.status_code == 400, answer.text[:300])
    assert len(answer.content) <= MAX_ERROR_ANSWER_BYTES, f"{len(answer.content):,} bytes"
