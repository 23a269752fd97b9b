"""The range memory of remote reads (dvcio.remote_read.ReadCounter): any range is served
exactly, each byte of an object is received at most once per command while there is room."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dslineage.dvcio.remote_read import ReadCounter

DATA = bytes(range(256)) * 8  # 2048 bytes


def fetcher(asked: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    """A ranged GET over DATA that records what it was asked for."""

    def fetch(start: int, end: int) -> bytes:
        asked.append((start, end))
        return DATA[start:end]

    return fetch


@given(st.lists(st.tuples(st.integers(0, 2100), st.integers(0, 400)), min_size=1, max_size=12))
def test_every_range_is_served_exactly_and_no_byte_is_received_twice(ranges: list[tuple[int, int]]) -> None:
    """Overlapping reads return DATA[start:end] and the bytes received never exceed the object's size."""
    counter, asked = ReadCounter(), []  # type: ignore[var-annotated]
    fetch = fetcher(asked)
    for start, length in ranges:
        assert counter.read("b/o", start, start + length, fetch) == DATA[start : start + length]
    assert counter.bytes_read <= len(DATA)
    assert counter.bytes_read == sum(len(DATA[a:b]) for a, b in asked)


def test_a_range_already_received_costs_no_request() -> None:
    """Reading 0:1000, then 100:200 and 900:1500: the second is free, the third fetches 1000:1500 only."""
    counter, asked = ReadCounter(), []  # type: ignore[var-annotated]
    fetch = fetcher(asked)
    counter.read("b/o", 0, 1000, fetch)
    counter.read("b/o", 100, 200, fetch)
    assert counter.read("b/o", 900, 1500, fetch) == DATA[900:1500]
    assert asked == [(0, 1000), (1000, 1500)] and counter.bytes_read == 1500
    counter.read("b/other", 0, 10, fetch)  # another object shares nothing
    assert asked[-1] == (0, 10) and counter.requests == 3


def test_nothing_is_kept_past_the_memory_bound_and_reset_forgets() -> None:
    """With room for 100 bytes, a 500-byte range is received again next time; reset clears the counts."""
    counter, asked = ReadCounter(keep=100), []  # type: ignore[var-annotated]
    fetch = fetcher(asked)
    counter.read("b/o", 0, 500, fetch)
    counter.read("b/o", 0, 500, fetch)
    assert counter.bytes_read == 1000 and len(asked) == 2
    counter.sizes["s3://b/o"] = 2048
    counter.reset()
    assert (counter.bytes_read, counter.requests, counter.sizes) == (0, 0, {})


def test_byte_counts_read_as_people_write_them() -> None:
    """The stderr note's sizes: bytes below 1 KiB, then KiB, MiB, GiB with one decimal."""
    from dslineage.cli._remote import size

    assert [size(n) for n in (0, 812, 1024, 35_364, 78_244_875, 3 << 30)] == [
        "0 B",
        "812 B",
        "1.0 KiB",
        "34.5 KiB",
        "74.6 MiB",
        "3.0 GiB",
    ]
