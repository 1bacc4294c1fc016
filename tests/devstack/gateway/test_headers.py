"""read_headers against the email package it replaces: same fields, same limits, same errors."""
import http.client
import io
import random

import pytest

from devstack.gateway.headers import MAX_HEADERS, MAX_LINE, read_headers


def _both(block: bytes):
    """(email's items, read_headers' items) of one block, each read from its own stream."""
    return (http.client.parse_headers(io.BytesIO(block)).items(),
            read_headers(io.BytesIO(block)).items())


@pytest.mark.parametrize("block", [
    b"Host: 127.0.0.1:8080\r\nContent-Length: 5\r\nAuthorization: Basic YTpi\r\n\r\n",
    b"X-A: 1\nX-B: 2\n\n",
    b"X:   \t v  \r\nx: second\r\n\r\n",
    b"X-Empty:\r\nY:\r\n\r\n",
    b"B: caf\xe9\r\n\r\n",
    b"Na(me)/x: v\r\n\r\n",
    b"X-A: one\r\n two\r\n\tthree\r\nY: 1\r\n\r\n",
    b"X: a\n Y: b\n\n",
    b" lead\r\nX: 1\r\n\r\n",
    b"From x\r\nX: 1\r\n\r\n",
    b"X: 1\r\nFrom y: 2\r\nZ: 3\r\n\r\n",
    b":nope\r\n more\r\nX: 1\r\n\r\n",
    b"X: 1\r\nbad line\r\nY: 2\r\n\r\n",
    b"X-A: a\rb: c\r\nZ: 1\r\n\r\n",
    b"X: a\r\r\nY: 1\r\n\r\n",
    b"X-A: b",
    b"",
], ids=["plain-crlf", "plain-lf", "blanks-around-value", "empty-values", "latin-1-value",
        "odd-but-legal-name", "folded-crlf", "folded-lf", "first-line-folded", "mbox-envelope-first",
        "mbox-envelope-later", "missing-name-and-its-fold", "line-without-colon-ends-block",
        "bare-cr-splits-a-line", "bare-cr-then-empty-line", "cut-short-without-newline", "nothing"])
def test_fields_are_the_email_packages(block):
    email_items, ours = _both(block)
    assert ours == email_items


def test_get_is_case_insensitive_and_gives_the_first_value():
    headers = read_headers(io.BytesIO(b"X-Call-Id: first\r\nx-call-id: second\r\n\r\n"))
    assert headers.get("X-CALL-ID") == "first"
    assert headers.get("Missing") is None and headers.get("Missing", "d") == "d"
    assert headers.items() == [("X-Call-Id", "first"), ("x-call-id", "second")]


def test_random_blocks_agree_with_the_email_package():
    """200 seeded blocks built from the pieces the parsers treat differently."""
    pieces = [b"Content-Type: application/json", b"x-a:1", b"X-B: \t v ", b"From me", b" folded",
              b"\tfolded", b"no colon", b":v", b"N(a)me: v", b"V: caf\xe9", b"E:", b"A: b\rc: d"]
    ends = [b"\r\n", b"\n", b"\r"]
    rng = random.Random(7)
    for _ in range(200):
        lines = [rng.choice(pieces) + rng.choice(ends) for _ in range(rng.randint(1, 6))]
        block = b"".join(lines) + rng.choice([b"\r\n", b"\n"])
        email_items, ours = _both(block)
        assert ours == email_items, block


def test_the_body_after_the_block_is_left_unread():
    stream = io.BytesIO(b"Content-Length: 4\r\n\r\nbody")
    read_headers(stream)
    assert stream.read() == b"body"


@pytest.mark.parametrize("block,error", [
    (b"X: " + b"v" * (MAX_LINE - 5) + b"\r\n\r\n", None),
    (b"X: " + b"v" * MAX_LINE + b"\r\n\r\n", http.client.LineTooLong),
    (b"X: v\r\n" * (MAX_HEADERS - 1) + b"\r\n", None),
    (b"X: v\r\n" * MAX_HEADERS + b"\r\n", http.client.HTTPException),
], ids=["longest-line", "line-too-long", "most-lines", "too-many-lines"])
def test_limits_are_http_clients(block, error):
    """http.client counts the empty line that ends a block: 99 fields at most."""
    for parse in (http.client.parse_headers, read_headers):
        if error is None:
            assert parse(io.BytesIO(block)).items()
        else:
            with pytest.raises(error):
                parse(io.BytesIO(block))
