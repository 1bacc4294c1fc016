"""An input named by URL, downloaded into the function's /tmp: how a cluster function reads a file.

In a cluster a function's only writable folder is its pod's /tmp (faas-netes mounts nothing
else) and no volume or ConfigMap can be mounted through stack.yml, so a file a function reads
(an enrich step's lookup table, a file source's input) is named by an ``http://`` or
``https://`` URL (an object store's presigned URL, any web server the functions reach) and
copied into /tmp for the length of one read. The embedded stack keeps reading local paths.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: /tmp is an emptyDir counted against the pod's memory or disk
_CHUNK = 1 << 20


class DownloadError(Exception):
    """The URL gave no file; ``retryable`` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def is_url(text: object) -> bool:
    return isinstance(text, str) and urllib.parse.urlsplit(text).scheme in ("http", "https")


def shown(url: str) -> str:
    """The URL without its query (a presigned URL's signature is a secret) for messages."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


@contextlib.contextmanager
def downloaded(url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout_s: float = 30.0) -> Iterator[str]:
    """The path of a temporary copy of ``url``'s body, removed when the block ends.

    A 4xx answer is not retryable (the URL is wrong); a 5xx, a refused connection or a timeout
    is. A body above ``max_bytes`` is refused rather than filling /tmp.
    """
    if not is_url(url):
        raise DownloadError(f"{url!r}: must be an http:// or https:// URL", retryable=False)
    handle = tempfile.NamedTemporaryFile(prefix="faas-etl-download-", delete=False)
    try:
        with handle:
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as answer:
                    size = 0
                    while block := answer.read(_CHUNK):
                        size += len(block)
                        if size > max_bytes:
                            raise DownloadError(f"{shown(url)}: larger than {max_bytes} bytes", retryable=False)
                        handle.write(block)
            except urllib.error.HTTPError as error:
                raise DownloadError(f"{shown(url)}: HTTP {error.code}", retryable=error.code >= 500) from None
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise DownloadError(f"{shown(url)}: {reason}", retryable=True) from None
        yield handle.name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
