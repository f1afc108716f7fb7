"""Sessions read back from stored text: the right session for each text, and bounded memory."""

from __future__ import annotations

import json
from dataclasses import replace

from mock_server.core.domain import CustomerSession
from mock_server.fixtures.generator import SessionGenerator
from mock_server.wire.codec import dumps_session, loads_session, session_from_json, session_to_json
from mock_server.wire.session_cache import StoredSessions


def sessions(count: int) -> list[CustomerSession]:
    return list(SessionGenerator(11).sessions(count))


def test_every_text_reads_back_as_the_session_a_fresh_parse_gives() -> None:
    # Given many stored texts, some of them remembered from their writes
    originals = sessions(300)
    texts = [dumps_session(s) for s in originals]

    # When each is read back (twice: the second read comes from what the first remembered)
    for text in texts + texts:
        # Then it is, field by field, what parsing that very text yields
        parsed = session_from_json(json.loads(text))
        assert session_to_json(loads_session(text)) == session_to_json(parsed)
        assert loads_session(text).integration_id == parsed.integration_id


def test_a_changed_session_is_never_answered_from_its_former_text() -> None:
    session = sessions(1)[0]
    before = dumps_session(session)
    after = dumps_session(replace(session, attributes={"changed": True}))

    assert loads_session(after).attributes == {"changed": True}
    assert loads_session(before).attributes == session.attributes


def test_the_oldest_sessions_are_forgotten_beyond_the_bound() -> None:
    cache = StoredSessions(max_sessions=50)
    kept = sessions(60)
    texts = [f"text-{index}" for index in range(60)]
    for text, session in zip(texts, kept, strict=True):
        cache.keep(text, session, None)

    assert len(cache) == 50
    assert cache.session(texts[0]) is None
    assert cache.session(texts[9]) is None
    assert cache.session(texts[10]) is kept[10]
    assert cache.session(texts[59]) is kept[59]


def test_kept_text_stays_within_its_size_and_a_huge_session_is_not_kept() -> None:
    cache = StoredSessions(max_text=64 * 100)
    kept = sessions(80)
    for index, session in enumerate(kept):
        cache.keep(f"{index:04d}".ljust(90, "x"), session, None)
    cache.keep("y" * 101, kept[0], None)  # over a sixty-fourth of the bound

    assert cache.text_size <= 64 * 100
    assert len(cache) == (64 * 100) // 90
    assert cache.session("y" * 101) is None


def test_a_document_belongs_to_its_session_object_and_goes_with_it() -> None:
    cache = StoredSessions(max_sessions=2)
    first, second, third = sessions(3)
    twin = replace(first)  # equal, but another object
    cache.keep("first", first, {"id": 1})

    assert cache.document(first) == {"id": 1}
    assert cache.document(twin) is None
    cache.keep_document(second, {"id": 2})  # not kept: nothing remembered
    assert cache.document(second) is None

    cache.keep("second", second, None)
    cache.keep_document(second, {"id": 2})
    cache.keep("third", third, {"id": 3})  # evicts the first

    assert cache.document(first) is None
    assert cache.document(second) == {"id": 2}
    assert cache.document(third) == {"id": 3}
