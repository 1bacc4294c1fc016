"""The ``map`` step: rename, cast, derive, select and drop fields, in that fixed order.

Params (each optional, at least one given)::

    {"rename": {"cust.id": "customer_id"},       # simultaneous: {"a": "b", "b": "a"} swaps
     "cast":   {"amount": "float", "ts": "timestamp"},   # int float str bool timestamp timestamp_iso
     "derive": {"total": "amount * qty", "name": "lower(name)"},  # in order; each sees the ones before
     "select": ["customer_id", "total"],          # keep only these (a missing one becomes null)
     "drop":   ["internal"]}

Field names are dotted paths into nested objects. The order is fixed so a config reads the way it
runs: renames first (later operations use the new names), casts before derivations (so
``amount * qty`` sees numbers), select and drop last (derived fields can be selected). A missing
field is skipped by rename and cast (null stays null); a failed cast or derivation dead-letters
the record with a reason naming the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .casts import CASTS
from .config import ConfigError, ConfigReader, field_path
from .expressions import Expression, compile_expression
from .failures import RecordError
from .fieldpaths import ABSENT, Path, WorkingCopy
from .outcome import StepOutcome, run_per_record
from .record import Record

_OPERATIONS = ("rename", "cast", "derive", "select", "drop")


@dataclass(frozen=True)
class Cast:
    path: Path
    type: str
    convert: Callable[[Any], Any]


@dataclass(frozen=True)
class Derivation:
    path: Path
    expression: Expression


@dataclass(frozen=True)
class MapConfig:
    rename: tuple[tuple[Path, Path], ...] = ()
    cast: tuple[Cast, ...] = ()
    derive: tuple[Derivation, ...] = ()
    select: tuple[Path, ...] | None = None
    drop: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_flat", _FlatMap.of(self))

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str = "params") -> "MapConfig":
        """Parse and compile ``params``; :class:`ConfigError` names the field and rule."""
        reader = ConfigReader(params, where)
        if not any(reader.has(name) for name in _OPERATIONS):
            raise ConfigError(where, "must give at least one of " + ", ".join(_OPERATIONS))
        rename = _renames(reader)
        casts = tuple(
            Cast(field_path(name, reader.at(f"cast.{name}")), kind, CASTS[kind])
            for name, kind in _cast_types(reader).items())
        derive = tuple(
            Derivation(field_path(name, reader.at(f"derive.{name}")),
                       reader.compiled("derive", compile_expression, reader.at(f"derive.{name}"), text))
            for name, text in reader.mapping("derive", {}).items())
        select = reader.text_list("select", None)
        drop = reader.text_list("drop", ())
        reader.finish()
        return cls(
            rename=rename, cast=casts, derive=derive,
            select=None if select is None else tuple(
                field_path(name, f"{reader.at('select')}[{i}]") for i, name in enumerate(select)),
            drop=tuple(field_path(name, f"{reader.at('drop')}[{i}]") for i, name in enumerate(drop)))


def _renames(reader: ConfigReader) -> tuple[tuple[Path, Path], ...]:
    pairs = []
    seen: dict[str, str] = {}
    for source, target in reader.mapping("rename", {}).items():
        where = reader.at(f"rename.{source}")
        if not isinstance(target, str):
            raise ConfigError(where, "must be the new field name (a string)")
        if target in seen:
            raise ConfigError(where, f"target {target!r} is also the target of {seen[target]!r}")
        seen[target] = source
        pairs.append((field_path(source, where), field_path(target, where)))
    return tuple(pairs)


def _cast_types(reader: ConfigReader) -> dict[str, str]:
    casts = reader.mapping("cast", {})
    for name, kind in casts.items():
        if kind not in CASTS:
            raise ConfigError(reader.at(f"cast.{name}"), "must be one of " + ", ".join(CASTS))
    return casts


def map_value(config: MapConfig, record: Record) -> dict[str, Any]:
    """The mapped value of one record; :class:`RecordError` names the field that failed."""
    flat = config._flat  # type: ignore[attr-defined]
    if flat is not None:
        return flat.apply(record)
    return _map_paths(config, record)


def _map_paths(config: MapConfig, record: Record) -> dict[str, Any]:
    """:func:`map_value` for any paths, nested ones included (copy-on-write)."""
    work = WorkingCopy(record.value)
    if config.rename:
        moved = [(target, work.pop(source, ABSENT)) for source, target in config.rename]
        for target, value in moved:
            if value is not ABSENT:
                work.set(target, value)
    for cast in config.cast:
        current = work.get(cast.path)
        if current is not None:
            try:
                work.set(cast.path, cast.convert(current))
            except RecordError as exc:
                raise RecordError(f"field {'.'.join(cast.path)}: {exc.reason}") from None
    for derivation in config.derive:
        try:
            work.set(derivation.path, derivation.expression.evaluate(work.root, record))
        except RecordError as exc:
            raise RecordError(f"derive {'.'.join(derivation.path)}: {exc.reason}") from None
    if config.select is not None:
        selected = WorkingCopy({})
        for path in config.select:
            selected.set(path, work.get(path))
        work = selected
    for path in config.drop:
        work.pop(path)
    return work.root


@dataclass(frozen=True)
class _FlatMap:
    """A map whose every path is one top-level field (most are), on plain field names: the
    same operations as :func:`_map_paths`, as dict operations on one shallow copy, since this
    runs once per record."""

    rename: tuple[tuple[str, str], ...]
    cast: tuple[tuple[str, Callable[[Any], Any]], ...]
    derive: tuple[tuple[str, Callable[..., Any]], ...]
    select: tuple[str, ...] | None
    drop: tuple[str, ...]

    @classmethod
    def of(cls, config: MapConfig) -> "_FlatMap | None":
        paths = [*(p for pair in config.rename for p in pair), *(c.path for c in config.cast),
                 *(d.path for d in config.derive), *(config.select or ()), *config.drop]
        if any(len(path) != 1 for path in paths):
            return None
        return cls(rename=tuple((source[0], target[0]) for source, target in config.rename),
                   cast=tuple((c.path[0], c.convert) for c in config.cast),
                   derive=tuple((d.path[0], d.expression.evaluator) for d in config.derive),
                   select=None if config.select is None else tuple(p[0] for p in config.select),
                   drop=tuple(p[0] for p in config.drop))

    def apply(self, record: Record) -> dict[str, Any]:
        root = dict(record.value)
        if len(self.rename) == 1:  # one field moved: nothing to keep apart from the others
            (source, target), = self.rename
            value = root.pop(source, ABSENT)
            if value is not ABSENT:
                root[target] = value
        elif self.rename:
            moved = [(target, root.pop(source, ABSENT)) for source, target in self.rename]
            for target, value in moved:
                if value is not ABSENT:
                    root[target] = value
        for name, convert in self.cast:
            current = root.get(name)
            if current is not None:
                try:
                    root[name] = convert(current)
                except RecordError as exc:
                    raise RecordError(f"field {name}: {exc.reason}") from None
        for name, evaluate in self.derive:
            try:
                root[name] = evaluate(root, record)
            except RecordError as exc:
                raise RecordError(f"derive {name}: {exc.reason}") from None
        if self.select is not None:
            root = {name: root.get(name) for name in self.select}
        for name in self.drop:
            root.pop(name, None)
        return root


def run_map(config: MapConfig, records: Sequence[Record], *, step: str, now_ms: int) -> StepOutcome:
    """Apply the map to a batch."""
    return run_per_record(records, step, now_ms,
                          lambda record: record.with_value(map_value(config, record)))
