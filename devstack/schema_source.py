"""Where ``faas-etl try`` and ``faas-etl validate`` find the topics' schemas: the schema
registry's store (table ``schema_versions`` of the state database, :mod:`etlkit.state_db`, the
one the ``ingest`` and ``schema-registry`` functions share: ``<run dir>/step-state.db`` on the
embedded stack, STATE_URL's database elsewhere) and schema files given per topic on the command
line, which win over the store.

I/O module: reads files and the state database; the check itself is :mod:`devstack.field_check`.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
from typing import Any, Sequence

from etlkit.schemas import SchemaRegistry, StateDbSchemaStore, check_schema
from etlkit.state_db import DEFAULT_STATE_FILE, StateUnavailable, open_state_db, state_url
from etlkit.warehouse.url import DatabaseUrlError, SqliteTarget, parse_database_url

from . import runstate

REPO = pathlib.Path(__file__).resolve().parent.parent


class SchemaOptionError(ValueError):
    """A ``--schema`` or ``--state-url`` that cannot be used; the message names the option."""


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schema", action="append", default=[], metavar="TOPIC=FILE",
                   help="the JSON Schema of a topic's records, from a file; repeatable (wins over the store)")
    p.add_argument("--state-url", metavar="URL",
                   help="the state database holding the schema registry's versions (default: STATE_URL, "
                        f"else <run dir>/{DEFAULT_STATE_FILE} when it exists: the one the running stack's "
                        "ingest and schema-registry functions share)")


def schemas_of(args: argparse.Namespace, topics: Sequence[str]) -> dict[str, Any]:
    """The latest registered schema of each of ``topics`` that has one, then the ``--schema``
    files over them. :class:`SchemaOptionError` names the option and what is wrong."""
    out: dict[str, Any] = {}
    url = _state_url(args)
    if url is not None:
        try:
            registry = SchemaRegistry(StateDbSchemaStore(open_state_db(parse_database_url(url, "--state-url"))))
            registered = set(registry.subjects())
        except DatabaseUrlError as exc:  # names --state-url and the rule
            raise SchemaOptionError(str(exc)) from None
        except StateUnavailable as exc:
            raise SchemaOptionError(f"--state-url: {exc}") from None
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


def _state_url(args: argparse.Namespace) -> str | None:
    """--state-url, else etlkit.state_db's rule (STATE_URL, else the run folder's file), but a
    SQLite file that does not exist is no store to read (reading would create it)."""
    if args.state_url:
        return args.state_url
    run_dir = pathlib.Path(args.run_dir) if getattr(args, "run_dir", None) else runstate.default_run_dir(REPO)
    url = state_url(os.environ, folder=run_dir)
    try:
        target = parse_database_url(url, "STATE_URL")
    except DatabaseUrlError:
        return url  # refused where it is opened, naming the rule
    return url if not isinstance(target, SqliteTarget) or pathlib.Path(target.path).is_file() else None
