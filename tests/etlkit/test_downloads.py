"""Inputs named by URL, downloaded over real HTTP (loopback) into /tmp and removed after."""
import os
import socket

import pytest

from etlkit.downloads import DownloadError, downloaded, is_url, shown


def test_the_body_is_a_temporary_file_for_the_length_of_the_block(http_files):
    base, files = http_files
    files["/customers.csv"] = b"customer_id,country\nc1,DE\n"
    with downloaded(f"{base}/customers.csv?X-Amz-Signature=secret") as path:
        with open(path, "rb") as copy:
            assert copy.read() == files["/customers.csv"]
    assert not os.path.exists(path)


@pytest.mark.parametrize("status, retryable", [pytest.param(404, False, id="not-found-is-the-callers"),
                                               pytest.param(403, False, id="forbidden-is-the-callers"),
                                               pytest.param(503, True, id="server-fault-is-retried")])
def test_an_error_answer_says_whether_to_retry_and_hides_the_query(http_files, status, retryable):
    base, files = http_files
    files[f"/answer-{status}"] = status
    with pytest.raises(DownloadError) as raised:
        with downloaded(f"{base}/answer-{status}?sig=secret"):
            pass
    assert raised.value.retryable is retryable
    assert f"HTTP {status}" in str(raised.value) and "secret" not in str(raised.value)


def test_a_refused_connection_is_retried():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError) as raised:
        with downloaded(f"http://127.0.0.1:{port}/x"):
            pass
    assert raised.value.retryable


def test_a_body_over_the_limit_is_refused_and_nothing_is_left(http_files, tmp_path, monkeypatch):
    base, files = http_files
    files["/big"] = b"x" * 5000
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    with pytest.raises(DownloadError, match="larger than 4096 bytes") as raised:
        with downloaded(f"{base}/big", max_bytes=4096):
            pass
    assert not raised.value.retryable and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, url", [("https://x/a.csv", True), ("http://x", True), ("file:///etc/passwd", False),
                                       ("data/customers.csv", False), (None, False)],
                         ids=["https", "http", "file-scheme", "path", "none"])
def test_only_http_and_https_are_urls(text, url):
    assert is_url(text) is url


def test_shown_drops_credentials_and_query():
    assert shown("https://user:pw@host/a.csv?sig=1") == "https://host/a.csv"
