"""Error lists are built in one place (`ApiError`), and bounded there: a count, and each item."""

from __future__ import annotations

from collections.abc import Iterator

from mock_server.core.errors import (
    MAX_DETAILS_CHARS,
    MAX_ERROR_ITEMS,
    MAX_POINTER_CHARS,
    MORE_PROBLEMS,
    ApiError,
    ErrorItem,
)


def _items(count: int) -> list[ErrorItem]:
    return [ErrorItem("Invalid value", f"problem {n}", f"/items/{n}") for n in range(count)]


def test_a_short_list_is_kept_whole() -> None:
    error = ApiError.bad_request("bad", _items(MAX_ERROR_ITEMS))
    assert list(error.errors) == _items(MAX_ERROR_ITEMS)


def test_a_long_list_keeps_the_first_problems_and_says_there_are_more() -> None:
    error = ApiError.bad_request("bad", _items(60_000))
    assert list(error.errors) == [*_items(MAX_ERROR_ITEMS), MORE_PROBLEMS]


def test_the_list_is_read_no_further_than_needed() -> None:
    def endless() -> Iterator[ErrorItem]:
        number = 0
        while True:
            yield ErrorItem("Invalid value", f"problem {number}", "")
            number += 1

    assert len(ApiError.bad_request("bad", endless()).errors) == MAX_ERROR_ITEMS + 1


def test_details_are_cut() -> None:
    huge = "['c', " * 150_000
    (item,) = ApiError.bad_request("bad", [ErrorItem("Invalid value", huge, "")]).errors
    assert len(item.details) == MAX_DETAILS_CHARS and item.details.endswith("...")


def test_a_long_pointer_is_cut_back_to_an_ancestor() -> None:
    key = "k" * 100_000
    pointer = f"/customerSession/additionalCosts/{key}/price"
    (item,) = ApiError.bad_request("bad", [ErrorItem("Missing", "price", pointer)]).errors
    assert item.pointer == "/customerSession/additionalCosts"


def test_a_pointer_is_never_cut_inside_a_token() -> None:
    pointer = "/a~1b" * 100  # 500 characters, escapes included
    (item,) = ApiError.bad_request("bad", [ErrorItem("Missing", "x", pointer)]).errors
    assert item.pointer is not None and len(item.pointer) <= MAX_POINTER_CHARS
    assert pointer.startswith(item.pointer + "/") and item.pointer.endswith("~1b")
