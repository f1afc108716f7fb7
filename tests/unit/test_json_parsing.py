"""The fast JSON path (orjson) agrees with the strict one (the standard library).

A differential test: hypothesis generates bodies (well-formed JSON documents, the same texts
with a byte or a literal changed, raw random bytes) and both parsers read each. They must
accept the same bodies as the same documents, types and key order included, and refuse the
same bodies with the same 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mock_server.core.errors import ApiError
from mock_server.wire.body import parse_json_bytes, parse_json_strictly

Parser = Callable[..., Any]
Mutation = Callable[[st.DrawFn, bytes], bytes]

MAX_DEPTH = 32
PARSERS = [
    pytest.param(parse_json_bytes, id="fast"),
    pytest.param(parse_json_strictly, id="strict"),
]
CORPUS = settings(
    max_examples=500,
    derandomize=True,  # the same corpus on every run and machine
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------- documents and bodies

# 19 digits is where the fast path hands over to the strict parser: both sides of it.
integer_edges = st.sampled_from(
    [0, -1, 10**18 - 1, 10**18, 10**19 - 1, 10**19, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1]
    + [2**64 - 1, 2**64, -(2**64), 10**29, 2**100, -(10**40)]
)
integers = st.integers() | st.integers(min_value=-(10**40), max_value=10**40) | integer_edges
floats = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e300, allow_infinity=False)
    | st.floats(max_value=1e-300, min_value=-1e-300)
    | st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, 1.7976931348623157e308, 1e16, 1e22])
)
# Characters JSON must escape, and some it need not escape that a parser may still trip on.
escape_prone = st.sampled_from(list('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\ufeff'))


def json_texts(characters: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.text(characters | escape_prone, max_size=8)


def json_documents(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | integers | floats | texts
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
        max_leaves=10,
    )


# Unicode text, non-ASCII included; and, now and then, text with surrogates, which json.dumps
# writes as \ud800 escapes (ensure_ascii) or as bytes that are not UTF-8.
unicode_texts = json_texts(st.characters(codec="utf-8"))
surrogate_texts = json_texts(st.characters(categories=["Cs"]))
unicode_documents = json_documents(unicode_texts)
any_documents = json_documents(unicode_texts | unicode_texts | unicode_texts | surrogate_texts)


@st.composite
def serialised(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> bytes:
    """A document as json.dumps writes it, ASCII-only or not, compact or indented."""
    text = json.dumps(
        draw(documents),
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
    )
    return text.encode("utf-8", errors="surrogatepass")


@st.composite
def deep_nestings(draw: st.DrawFn) -> bytes:
    """Arrays and objects nested close to the limit, around a scalar or an empty container."""
    levels = draw(st.sampled_from([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1]) | st.integers(28, 36))
    kinds = draw(st.lists(st.sampled_from("[{"), min_size=levels, max_size=levels))
    core = draw(st.sampled_from([b"1", b'"x"', b"null", b"[]", b"{}", b"1.5", b"[1,[]]"]))
    for kind in reversed(kinds):
        core = b"[" + core + b"]" if kind == "[" else b'{"k":' + core + b"}"
    return core


INTERESTING_BYTES = [bytes([b]) for b in b'{}[]",:\\0123456789-+.eEtnu \t\n\r\x00\x1f\x7f\xc3\xff']
byte_values = st.sampled_from(INTERESTING_BYTES) | st.binary(min_size=1, max_size=1)
NUMBER = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _position(draw: st.DrawFn, raw: bytes) -> int:
    return draw(st.integers(min_value=0, max_value=len(raw)))


def insert_byte(draw: st.DrawFn, raw: bytes) -> bytes:
    at = _position(draw, raw)
    return raw[:at] + draw(byte_values) + raw[at:]


def delete_byte(draw: st.DrawFn, raw: bytes) -> bytes:
    if not raw:
        return raw
    at = draw(st.integers(min_value=0, max_value=len(raw) - 1))
    return raw[:at] + raw[at + 1 :]


def replace_byte(draw: st.DrawFn, raw: bytes) -> bytes:
    if not raw:
        return draw(byte_values)
    at = draw(st.integers(min_value=0, max_value=len(raw) - 1))
    return raw[:at] + draw(byte_values) + raw[at + 1 :]


def append_junk(draw: st.DrawFn, raw: bytes) -> bytes:
    junk = st.sampled_from([b",", b"]", b"}", b" ", b"\n", b"0", b"x", b"{}", b"\x00"])
    return raw + draw(junk | st.binary(min_size=1, max_size=4))


def prefix_bom(draw: st.DrawFn, raw: bytes) -> bytes:
    return BOM + raw


def inject_surrogate(draw: st.DrawFn, raw: bytes) -> bytes:
    """A \\u escape of a surrogate, often right after a quote, which puts it in a string."""
    escape = draw(
        st.sampled_from([rb"\ud800", rb"\udbff", rb"\udc00", rb"\udfff", rb"\ud83d\ude00"])
    )
    quotes = [match.end() for match in re.finditer(rb'"', raw)]
    after_quote: bool = draw(st.booleans())
    at = draw(st.sampled_from(quotes)) if quotes and after_quote else _position(draw, raw)
    return raw[:at] + escape + raw[at:]


def _replace_number(draw: st.DrawFn, raw: bytes, literal: bytes) -> bytes:
    """`literal` in place of a number of the text, or as an item next to the document."""
    numbers = list(NUMBER.finditer(raw))
    in_place: bool = draw(st.booleans())
    if numbers and in_place:
        match = draw(st.sampled_from(numbers))
        return raw[: match.start()] + literal + raw[match.end() :]
    if draw(st.booleans()):
        return b"[" + raw + b"," + literal + b"]"
    at = _position(draw, raw)
    return raw[:at] + literal + raw[at:]


def number_edge(draw: st.DrawFn, raw: bytes) -> bytes:
    """A literal that is no JSON number (NaN, Infinity), or a number at the edges of a double."""
    literal = draw(
        st.sampled_from(
            [b"NaN", b"Infinity", b"-Infinity", b"-NaN", b"1e400", b"-1e400", b"1E+400"]
            + [b"1e309", b"1.7976931348623159e308", b"0.1e310", b"1e-400", b"-0.0"]
        )
    )
    return _replace_number(draw, raw, literal)


def digit_run(draw: st.DrawFn, raw: bytes) -> bytes:
    """A number with 17 to 24 digits in a row: either side of where the fast path steps aside."""
    digits = draw(st.text("0123456789", min_size=17, max_size=24)).encode()
    sign = draw(st.sampled_from([b"", b"-"]))
    tail = draw(st.sampled_from([b"", b"", b".5", b"e3", b"e400", b".0e-2"]))
    return _replace_number(draw, raw, sign + digits.lstrip(b"0") + tail)


MUTATIONS: list[Mutation] = [
    insert_byte,
    delete_byte,
    replace_byte,
    append_junk,
    prefix_bom,
    inject_surrogate,
    number_edge,
    digit_run,
]
valid_bodies = serialised(any_documents) | deep_nestings()


@st.composite
def mutated(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    """A body with one to three changes."""
    raw = draw(bodies)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        raw = draw(st.sampled_from(MUTATIONS))(draw, raw)
    return raw


token_soup = st.lists(
    st.sampled_from(
        [b"{", b"}", b"[", b"]", b",", b":", b'"', b'"a"', b"1", b"-", b"0", b".", b"e"]
        + [b"1e400", b"NaN", b"true", b"null", rb"\u", rb"\ud800", b" ", b"\xc3\xa9", BOM]
    ),
    max_size=12,
).map(b"".join)
bodies = (
    valid_bodies
    | mutated(valid_bodies)
    | mutated(valid_bodies)
    | st.binary(max_size=40)
    | token_soup
)

# ---------------------------------------------------------------- comparing outcomes


def tagged(value: Any) -> Any:
    """The document with every value's type made part of it: 1, 1.0 and True all differ.

    Floats by their exact bits (-0.0 is not 0.0), objects as their items in order.
    """
    if isinstance(value, dict):
        return ("object", [(tagged(key), tagged(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [tagged(item) for item in value])
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


def outcome(parse: Parser, raw: bytes) -> tuple[Any, ...]:
    """What a parser made of a body: the document, or the refusal it answered."""
    try:
        document = parse(raw, max_depth=MAX_DEPTH)
    except ApiError as exc:
        return ("refused", exc.status, exc.to_body())
    return ("accepted", tagged(document))


def nesting(value: Any) -> int:
    """How many arrays and objects deep a document goes; 0 for a scalar."""
    if isinstance(value, dict):
        return 1 + max((nesting(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(item) for item in value), default=0)
    return 0


def refusal(parse: Parser, raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse(raw, max_depth=MAX_DEPTH)
    assert caught.value.status == 400
    return caught.value


def nested(levels: int, kinds: str, core: str = "1") -> bytes:
    """`levels` containers, cycling through `kinds` ("[" arrays, "{" objects), around `core`."""
    text = core
    for level in reversed(range(levels)):
        text = f"[{text}]" if kinds[level % len(kinds)] == "[" else f'{{"k":{text}}}'
    return text.encode()


# ---------------------------------------------------------------- properties


@CORPUS
@given(raw=bodies)
def test_fast_and_strict_parsers_agree(raw: bytes) -> None:
    fast = outcome(parse_json_bytes, raw)
    strict = outcome(parse_json_strictly, raw)
    event(f"{strict[0]}: {strict[2]['errors'][0]['title']}" if strict[0] == "refused" else "ok")
    assert fast == strict, raw
    if fast[0] == "refused":
        assert fast[1] == 400, raw


@settings(CORPUS, max_examples=300)
@given(document=unicode_documents, ascii_only=st.booleans())
def test_well_formed_documents_come_back_as_written(document: Any, ascii_only: bool) -> None:
    raw = json.dumps(document, ensure_ascii=ascii_only).encode()
    if nesting(document) > MAX_DEPTH:
        refusal(parse_json_bytes, raw)
    else:
        assert tagged(parse_json_bytes(raw, max_depth=MAX_DEPTH)) == tagged(document)


# ---------------------------------------------------------------- explicit cases


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    "number",
    [10**29 + 7, -(10**29) - 7, 123456789012345678901234567890, 2**63, -(2**63) - 1, 2**64],
)
def test_long_integers_stay_exact(parse: Parser, number: int) -> None:
    document = parse(f'{{"n": {number}, "m": [{number}]}}'.encode(), max_depth=MAX_DEPTH)
    assert type(document["n"]) is int and document["n"] == number
    assert type(document["m"][0]) is int and document["m"][0] == number


def test_a_thirty_digit_integer_is_read_exactly() -> None:
    document = parse_json_bytes(b"123456789012345678901234567890", max_depth=MAX_DEPTH)
    assert type(document) is int
    assert document == 123456789012345678901234567890


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b'{"a": 1e400}', "/a"),
        (b'{"a": [0, -1e400]}', "/a/1"),
        (b'{"a/b": {"c~": 1E+309}}', "/a~1b/c~0"),
        (b"1e400", ""),
    ],
)
def test_numbers_beyond_a_double_are_refused_where_they_are(
    parse: Parser, raw: bytes, pointer: str
) -> None:
    error = refusal(parse, raw)
    assert [(item.title, item.pointer) for item in error.errors] == [("Invalid number", pointer)]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (rb'{"name": "x\ud800"}', "/name"),
        (rb'{"a": ["ok", "\udfff"]}', "/a/1"),
        (rb'["\udc00\ud800"]', "/0"),
        (rb'{"a": {"\ud800": 1}}', "/a"),  # a bad key: the object that holds it
        (rb'"\udbff"', ""),
    ],
)
def test_lone_surrogates_are_refused_where_they_are(
    parse: Parser, raw: bytes, pointer: str
) -> None:
    error = refusal(parse, raw)
    assert [(item.title, item.pointer) for item in error.errors] == [("Invalid string", pointer)]


@pytest.mark.parametrize("parse", PARSERS)
def test_a_surrogate_pair_is_one_character(parse: Parser) -> None:
    assert parse(rb'{"s": "\ud83d\ude00"}', max_depth=MAX_DEPTH) == {"s": "\U0001f600"}


@pytest.mark.parametrize("parse", PARSERS)
def test_a_byte_order_mark_is_refused(parse: Parser) -> None:
    body = b'{"a": 1}'
    assert parse(body, max_depth=MAX_DEPTH) == {"a": 1}
    error = refusal(parse, BOM + body)
    assert [item.title for item in error.errors] == ["Malformed JSON"]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    "raw", [b"NaN", b'{"a": NaN}', b"[1, Infinity]", b'{"a": -Infinity}'], ids=repr
)
def test_non_finite_literals_are_refused(parse: Parser, raw: bytes) -> None:
    error = refusal(parse, raw)
    assert [item.title for item in error.errors] == ["Invalid number"]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("kinds", ["[", "{", "[{", "{["])
def test_nesting_up_to_the_limit_is_accepted(parse: Parser, kinds: str) -> None:
    document = parse(nested(MAX_DEPTH, kinds), max_depth=MAX_DEPTH)
    assert nesting(document) == MAX_DEPTH


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("kinds", ["[", "{", "[{", "{["])
@pytest.mark.parametrize("core", ["1", "[]", "{}"])
def test_nesting_beyond_the_limit_is_refused(parse: Parser, kinds: str, core: str) -> None:
    # With an empty container inside, the 33rd level is that container itself.
    levels = MAX_DEPTH + 1 if core == "1" else MAX_DEPTH
    error = refusal(parse, nested(levels, kinds, core))
    assert [(item.title, item.pointer) for item in error.errors] == [("Too deeply nested", "")]
