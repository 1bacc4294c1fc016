"""A :class:`~.lookup.LookupSource` named by URL: the lookup table of a step running in a cluster.

``{"kind": "url", "url": "https://...", "key", "format", "max_rows"}`` (or the URL alone as
``lookup``): each ``load()`` downloads the file into /tmp (etlkit/downloads.py) and reads it as
:class:`~.file_lookup.FileLookupSource` reads a local file, with the same strictness; the
caching between loads is :class:`~.lookup.CachedLookup`'s, as for a file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..downloads import DownloadError, downloaded, is_url, shown
from .config import ConfigError, ConfigReader
from .file_lookup import DEFAULT_MAX_ROWS, FORMATS, FileLookupSource, LookupLoadError


@dataclass(frozen=True)
class UrlLookupSource:
    url: str
    key: str
    format: str = "csv"
    max_rows: int = DEFAULT_MAX_ROWS

    @classmethod
    def from_dict(cls, source: Mapping[str, Any], where: str = "params.lookup") -> "UrlLookupSource":
        reader = ConfigReader(source, where)
        reader.choice("kind", ("url",))
        url = reader.text("url")
        if not is_url(url):
            raise ConfigError(reader.at("url"), "must be an http:// or https:// URL")
        path = Path(shown(url))
        default_format = "jsonl" if path.suffix in (".jsonl", ".ndjson") else "csv"
        built = cls(url, reader.text("key"), reader.choice("format", FORMATS, default_format),
                    reader.integer("max_rows", 1, DEFAULT_MAX_ROWS))
        reader.finish()
        return built

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            with downloaded(self.url) as path:
                return FileLookupSource(Path(path), self.key, self.format, self.max_rows).load()
        except DownloadError as error:
            raise LookupLoadError(str(error)) from None
