"""The ``enrich`` step: join each record against a lookup table.

Params::

    {"on": "customer_id",              # record field holding the join key (dotted path)
     "lookup": "data/customers.csv",   # a CSV / JSON Lines file whose key column is named like
                                       # on's last segment, or {"kind": "file", "path", "key",
                                       # "format"}; or its http(s) URL, or {"kind": "url", "url",
                                       # "key", "format"} (a cluster: no files in a pod); or
                                       # another kind a caller registers
     "fields": ["name", "tier"],       # columns to copy (default: every column of the row)
     "prefix": "customer_",            # prepended to copied column names (default "")
     "into": null,                     # or "customer": nest the columns under that field instead
     "on_missing": "keep",             # keep (left join) | filter | dead_letter
     "refresh": "5m"}                  # how long a loaded table is reused (default 5m)

A record whose key has no row (or whose key is null) follows ``on_missing``; with ``keep`` the
declared ``fields`` are set to null (or ``into`` to null), so output records keep one shape;
without ``fields``, nothing is added. Copied columns overwrite record fields of the same name:
use ``prefix`` or ``into`` to keep both.

The table comes from a :class:`~.lookup.Lookup` the caller passes in (typically the
:class:`~.lookup.CachedLookup` from :func:`build_lookup`), read once per batch, so a batch is
joined against one consistent snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path as FilePath
from typing import Any, Callable, Mapping, Sequence

from .config import ConfigError, ConfigReader, field_path
from .failures import RecordError
from .fieldpaths import Path, WorkingCopy, read_path
from ..downloads import is_url
from .file_lookup import FileLookupSource
from .lookup import CachedLookup, Lookup, LookupSource, join_text
from .url_lookup import UrlLookupSource
from .outcome import StepOutcome, run_per_record
from .record import Record

ON_MISSING = ("keep", "filter", "dead_letter")
DEFAULT_REFRESH_MS = 300_000


@dataclass(frozen=True)
class EnrichConfig:
    on: Path
    lookup: Mapping[str, Any]  # always the object form, with "kind"
    fields: tuple[str, ...] | None = None
    prefix: str = ""
    into: Path | None = None
    on_missing: str = "keep"
    refresh_ms: int = DEFAULT_REFRESH_MS

    def __post_init__(self) -> None:
        # Worked out once, not per record: the join key's name in reasons, and the declared
        # columns with the names they are copied to.
        object.__setattr__(self, "_key_where", f"join key {'.'.join(self.on)}")
        object.__setattr__(self, "_targets", None if self.fields is None else
                           tuple((self.prefix + column, column) for column in self.fields))

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str = "params") -> "EnrichConfig":
        """Parse ``params``; :class:`ConfigError` names the field and rule."""
        reader = ConfigReader(params, where)
        on = field_path(reader.text("on"), reader.at("on"))
        lookup = _lookup_object(reader.raw("lookup", None), on, reader.at("lookup"))
        fields = reader.text_list("fields", None)
        prefix = reader.string("prefix", "")
        into_text = reader.text("into", None)
        if into_text is not None and prefix:
            raise ConfigError(reader.at("into"), "cannot be combined with prefix (nested columns "
                                                 "keep their names)")
        config = cls(
            on=on, lookup=lookup, fields=fields, prefix=prefix,
            into=None if into_text is None else field_path(into_text, reader.at("into")),
            on_missing=reader.choice("on_missing", ON_MISSING, "keep"),
            refresh_ms=reader.duration_ms("refresh", positive=True, default=DEFAULT_REFRESH_MS))
        reader.finish()
        if lookup["kind"] in SOURCE_FACTORIES:  # check the source's own settings now, not at first load
            SOURCE_FACTORIES[lookup["kind"]](lookup, reader.at("lookup"))
        return config


def _lookup_object(value: Any, on: Path, where: str) -> dict[str, Any]:
    if is_url(value):
        return {"kind": "url", "url": value, "key": on[-1]}
    if isinstance(value, str) and value.strip():
        return {"kind": "file", "path": value, "key": on[-1]}
    if not isinstance(value, Mapping):
        raise ConfigError(where, "must be a file path or an object with a kind")
    if not isinstance(value.get("kind"), str) or not value["kind"]:
        raise ConfigError(f"{where}.kind", "is required (e.g. \"file\")")
    lookup = dict(value)
    if lookup["kind"] in ("file", "url"):
        lookup.setdefault("key", on[-1])
    return lookup


def enrich_value(config: EnrichConfig, record: Record, table: Mapping[str, Mapping[str, Any]],
                 ) -> dict[str, Any] | None:
    """The enriched value of one record, ``None`` if it is filtered out."""
    where = config._key_where  # type: ignore[attr-defined]
    key = join_text(read_path(record.value, config.on), where)
    row = table.get(key) if key is not None else None
    if row is None:
        if config.on_missing == "filter":
            return None
        if config.on_missing == "dead_letter":
            raise RecordError(f"{where}: " + ("is null" if key is None else f"no row for {key!r}"))
        work = WorkingCopy(record.value)
        if config.into is not None:
            work.set(config.into, None)
        for column in config.fields or ():
            work.root[config.prefix + column] = None
        return work.root
    columns = config.fields if config.fields is not None else tuple(row)
    if config.into is not None:
        work = WorkingCopy(record.value)
        work.set(config.into, {column: row.get(column) for column in columns})
        return work.root
    root = dict(record.value)  # top-level columns only: a shallow copy is the whole copy
    targets = config._targets  # type: ignore[attr-defined]
    if targets is None:
        targets = [(config.prefix + column, column) for column in columns]
    for target, column in targets:
        root[target] = row.get(column)
    return root


def run_enrich(config: EnrichConfig, records: Sequence[Record], *, step: str, now_ms: int,
               lookup: Lookup) -> StepOutcome:
    """Join a batch; the table is read from ``lookup`` once, before the first record."""
    table = lookup.table(now_ms)

    def join(record: Record) -> Record | None:
        value = enrich_value(config, record, table)
        return None if value is None else record.with_value(value)

    return run_per_record(records, step, now_ms, join)


SourceFactory = Callable[[Mapping[str, Any], str], LookupSource]
# Built-in lookup sources by ``lookup.kind``; other kinds (a warehouse table) are added by the
# caller through ``build_lookup(..., factories={...})`` against the LookupSource Protocol.
SOURCE_FACTORIES: dict[str, SourceFactory] = {"file": FileLookupSource.from_dict,
                                              "url": UrlLookupSource.from_dict}


def build_lookup(config: EnrichConfig, factories: Mapping[str, SourceFactory] | None = None, *,
                 base_dir: str | FilePath | None = None, where: str = "params.lookup",
                 **cache_options: Any) -> CachedLookup:
    """A :class:`CachedLookup` over the source ``config.lookup`` names, refreshed every
    ``refresh``. A relative file path is resolved against ``base_dir``. A step function builds
    it once and keeps it between invocations (``cache_options`` go to :class:`CachedLookup`)."""
    known = {**SOURCE_FACTORIES, **(factories or {})}
    if base_dir is not None:
        known["file"] = partial(FileLookupSource.from_dict, base_dir=FilePath(base_dir))
    factory = known.get(config.lookup["kind"])
    if factory is None:
        raise ConfigError(f"{where}.kind", "must be one of " + ", ".join(sorted(known)))
    return CachedLookup(factory(config.lookup, where), refresh_ms=config.refresh_ms, **cache_options)
