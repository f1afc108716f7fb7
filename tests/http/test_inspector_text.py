"""What the inspector writes as text: bodies with their problems marked, curl, SDK calls."""

from __future__ import annotations

import json
import shlex

import pytest

from mock_server.http.inspector.highlight import Marked, anchors, marked_json, nearest_existing
from mock_server.http.inspector.snippets import curl_command, pretty_json, sdk_call

BODY = json.dumps(
    {
        "customerSession": {
            "state": "gone",
            "cartItems": [{"name": "Mug", "quantity": 0}],
            "attributes": {"a/b": 1, "t~": None},
        }
    }
)


def flat(span: Marked) -> str:
    """The text of a marked body, marks as [n ... ]."""
    return "".join(
        part if isinstance(part, str) else f"[{','.join(map(str, part.problems))} {flat(part)}]"
        for part in span.parts
    )


def test_an_unmarked_body_reads_as_indented_json() -> None:
    marked = marked_json(BODY, [])
    assert marked is not None
    assert flat(marked) == json.dumps(json.loads(BODY), indent=2, ensure_ascii=False)


def test_each_problem_marks_its_node_or_the_object_it_is_missing_from() -> None:
    pointers = [
        "/customerSession/state",
        "/customerSession/cartItems/0/price",  # missing: its item is marked
        "/customerSession/cartItems/0/quantity",
        "/customerSession/attributes/a~1b",
        None,  # a parameter's problem: nothing in the body
    ]
    marked = marked_json(BODY, pointers)
    assert marked is not None
    text = flat(marked)
    assert '"state": [1 "gone"]' in text
    assert '[2 {\n        "name": "Mug",\n        "quantity": [3 0]\n      }]' in text
    assert '"a/b": [4 1]' in text
    assert anchors(marked) == {1: 1, 2: 2, 3: 3, 4: 4}


def test_problems_at_one_place_share_a_mark() -> None:
    marked = marked_json(BODY, ["/customerSession/state", "/customerSession/state"])
    assert marked is not None and '"state": [1,2 "gone"]' in flat(marked)


def test_the_whole_body_can_be_marked() -> None:
    marked = marked_json("[1, 2]", [""])
    assert marked is not None and flat(marked) == "[1 [\n  1,\n  2\n]]"


@pytest.mark.parametrize("text", ["{bad", "", '{"a": 1} trailing'])
def test_a_body_that_is_not_json_is_not_marked(text: str) -> None:
    assert marked_json(text, ["/a"]) is None
    assert pretty_json(text) == text


def test_pointers_past_the_document_stop_at_what_exists() -> None:
    document = {"a": [{"b": 1}]}
    assert nearest_existing(document, "/a/0/b") == "/a/0/b"
    assert nearest_existing(document, "/a/5/b") == "/a"
    assert nearest_existing(document, "/x") == ""


HEADERS = {
    "Host": "127.0.0.1:8080",
    "Authorization": "ApiKey-v1 test...",
    "Content-Type": "application/json",
    "Prefer": "code=404",
    "Cookie": "session=secret",
    "User-Agent": "python-requests",
}
TRICKY = json.dumps({"customerSession": {"profileId": 'it\'s $HOME `id` "q"'}})


def test_curl_quotes_what_a_shell_would_expand() -> None:
    command = curl_command(
        "PUT", "http://127.0.0.1:8080/v2/customer_sessions/a b?dry=true", HEADERS, TRICKY
    )
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:4] == [
        "curl",
        "-X",
        "PUT",
        "http://127.0.0.1:8080/v2/customer_sessions/a b?dry=true",
    ]
    assert words[words.index("--data-raw") + 1] == TRICKY
    headers = [words[i + 1] for i, word in enumerate(words) if word == "-H"]
    # what the client or the browser adds is left out, cookies above all
    assert headers == [
        "Authorization: ApiKey-v1 test...",
        "Content-Type: application/json",
        "Prefer: code=404",
    ]


def test_curl_reads_a_masked_key_from_a_variable() -> None:
    command = curl_command("GET", "http://h/x", HEADERS, None, key_from_variable=True)
    assert '-H "Authorization: ApiKey-v1 $API_KEY"' in command
    assert "test..." not in command and "--data-raw" not in command


def test_the_sdk_call_is_python_that_names_every_part() -> None:
    body = {
        "customerSession": {
            "profileId": "p-1",
            "cartItems": [{"name": "Mug", "sku": "S-1", "quantity": 2, "price": 9.99}],
            "additionalCosts": {"shipping": {"price": 4.5}},
            "attributes": {"gift": True, "note": None},
        },
        "responseContent": ["customerSession"],
    }
    script = sdk_call(
        "PUT", "http://127.0.0.1:8080/", "s-1", "k", body, dry=True, prefer="code=409"
    )
    compile(script, "<snippet>", "exec")
    assert 'talon_one.Configuration(host="http://127.0.0.1:8080")' in script
    assert 'header_name="Prefer", header_value="code=409"' in script
    assert 'talon_one.CartItem(name="Mug", sku="S-1", quantity=2, price=9.99)' in script
    assert '"shipping": talon_one.AdditionalCost(price=4.5)' in script
    assert 'attributes={"gift": True, "note": None}' in script
    assert "dry=True" in script and 'sends state="open"' in script


def test_the_sdk_call_of_a_get() -> None:
    script = sdk_call("GET", "http://h", 'a"b', "k", None)
    compile(script, "<snippet>", "exec")
    assert 'api.get_customer_session("a\\"b")' in script
