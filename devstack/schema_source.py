"""Where ``faas-etl try`` and ``faas-etl validate`` find the topics' schemas: the schema
registry's store (a JSON file, :class:`etlkit.schemas.JsonFileSchemaStore`, the one the
``ingest`` and ``schema-registry`` functions share: ``<run dir>/schemas.json`` on the embedded
stack) and schema files given per topic on the command line, which win over the store.

I/O module: reads files; the check itself is :mod:`devstack.field_check`.
"""
from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any, Sequence

from etlkit.schemas import JsonFileSchemaStore, SchemaRegistry, StoreCorrupt, check_schema

from . import runstate

REPO = pathlib.Path(__file__).resolve().parent.parent


class SchemaOptionError(ValueError):
    """A ``--schema`` or ``--schema-store`` that cannot be used; the message names the option."""


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schema", action="append", default=[], metavar="TOPIC=FILE",
                   help="the JSON Schema of a topic's records, from a file; repeatable (wins over the store)")
    p.add_argument("--schema-store", metavar="FILE",
                   help="the schema registry's store file (default: <run dir>/schemas.json when it exists, "
                        "the one the running stack's ingest and schema-registry functions share)")


def schemas_of(args: argparse.Namespace, topics: Sequence[str]) -> dict[str, Any]:
    """The latest registered schema of each of ``topics`` that has one, then the ``--schema``
    files over them. :class:`SchemaOptionError` names the option and what is wrong."""
    out: dict[str, Any] = {}
    store = _store_path(args)
    if store is not None:
        try:
            registry = SchemaRegistry(JsonFileSchemaStore(store))
            registered = set(registry.subjects())
        except StoreCorrupt as exc:
            raise SchemaOptionError(f"--schema-store: {exc}") from None
        out.update({t: registry.schema(t) for t in topics if t in registered})
    for text in args.schema:
        topic, sep, file = text.partition("=")
        if not sep or not topic or not file:
            raise SchemaOptionError(f"--schema {text}: give TOPIC=FILE")
        try:
            schema = json.loads(pathlib.Path(file).read_text(encoding="utf-8"))
            check_schema(schema)
        except OSError as exc:
            raise SchemaOptionError(f"--schema {text}: {exc.strerror}") from None
        except ValueError as exc:  # not JSON, or SchemaInvalid naming the schema's field
            raise SchemaOptionError(f"--schema {text}: {exc}") from None
        out[topic] = schema
    return out


def _store_path(args: argparse.Namespace) -> pathlib.Path | None:
    if args.schema_store:
        path = pathlib.Path(args.schema_store)
        if not path.is_file():
            raise SchemaOptionError(f"--schema-store {path}: no such file")
        return path
    run_dir = pathlib.Path(args.run_dir) if getattr(args, "run_dir", None) else runstate.default_run_dir(REPO)
    default = run_dir / "schemas.json"
    return default if default.is_file() else None


