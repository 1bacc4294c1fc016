"""stack.yml checked against faas-cli's rules and the limits of OpenFaaS Community Edition.

faas-cli unmarshals the file into Go structs: unknown keys are dropped without a word and a
number where a string belongs fails late, at deploy time. Community Edition then rejects
Pro-only scaling labels with an HTTP 400. Both are cheaper to catch here.

The edition is declared on the functions with the label ``faas-etl.io/edition: pro`` (all or
none of them); without it the Community Edition limits apply.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator, Mapping

from .documents import Document
from .findings import UNKNOWN_FIELD, Finding, PathPart, Problem, located
from .tolerant import mapping, sequence

Exists = Callable[[str], bool]

PROVIDER_NAME = "openfaas"
STACK_VERSION = "1.0"
FUNCTION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
TOP_KEYS = frozenset({"version", "provider", "functions", "configuration"})
PROVIDER_KEYS = frozenset({"name", "gateway"})
CONFIGURATION_KEYS = frozenset({"templates", "copy"})
TEMPLATE_SOURCE_KEYS = frozenset({"name", "source"})
RESOURCE_KEYS = frozenset({"memory", "cpu"})
FUNCTION_KEYS = frozenset({
    "lang", "handler", "image", "fprocess", "environment", "environment_file", "secrets",
    "skip_build", "constraints", "labels", "annotations", "limits", "requests",
    "readonly_root_filesystem", "build_options", "build_args", "build_secrets", "namespace"})
STRING_MAPS = ("environment", "labels", "annotations", "build_args")
STRING_LISTS = ("secrets", "constraints", "environment_file", "build_options")
BOOLEANS = ("skip_build", "readonly_root_filesystem")

EDITION_LABEL = "faas-etl.io/edition"
EDITIONS = ("ce", "pro")
CE_MAX_FUNCTIONS = 15
CE_MAX_REPLICAS = 5
CE_FUNCTION_NAMESPACE = "openfaas-fn"
SCALE_MIN, SCALE_MAX = "com.openfaas.scale.min", "com.openfaas.scale.max"
PRO_ONLY_LABELS = ("com.openfaas.scale.zero", "com.openfaas.scale.zero-duration",
                   "com.openfaas.scale.target", "com.openfaas.scale.target-proportion",
                   "com.openfaas.scale.type")


def _unknown(value: Mapping[str, Any], known: frozenset[str], parts: list[PathPart]
             ) -> Iterator[Problem]:
    for key in sorted(set(value) - known, key=str):
        yield [*parts, key], f"{UNKNOWN_FIELD} (faas-cli would ignore it)"


def edition(functions: Mapping[str, Any]) -> str:
    """"pro" when every function carries the edition label "pro", else "ce"."""
    labels = [mapping(mapping(f).get("labels")).get(EDITION_LABEL) for f in functions.values()]
    return "pro" if labels and all(label == "pro" for label in labels) else "ce"


def stack_problems(body: Any, exists: Exists) -> Iterator[Problem]:
    """Every rule of stack.yml; ``exists`` says whether a path relative to stack.yml exists."""
    if not isinstance(body, dict):
        yield [], "stack.yml must be a mapping"
        return
    yield from _unknown(body, TOP_KEYS, [])
    if str(body.get("version")) != STACK_VERSION:
        yield ["version"], f"must be {STACK_VERSION}"
    provider = mapping(body.get("provider"))
    yield from _unknown(provider, PROVIDER_KEYS, ["provider"])
    if provider.get("name") != PROVIDER_NAME:
        yield ["provider", "name"], f"must be {PROVIDER_NAME!r}"
    gateway = provider.get("gateway")
    if gateway is not None and not (isinstance(gateway, str)
                                    and gateway.startswith(("http://", "https://"))):
        yield ["provider", "gateway"], "must be an http(s) URL"
    configuration = mapping(body.get("configuration"))
    yield from _configuration_problems(configuration, exists)
    templates = {str(mapping(t).get("name")) for t in sequence(configuration.get("templates"))}
    functions = body.get("functions")
    if not isinstance(functions, dict) or not functions:
        yield ["functions"], "must define at least one function"
        return
    yield from _edition_problems(functions)
    community = edition(functions) == "ce"
    if community and len(functions) > CE_MAX_FUNCTIONS:
        yield (["functions"], f"Community Edition allows at most {CE_MAX_FUNCTIONS} functions, "
                              f"found {len(functions)}")
    for name, function in functions.items():
        parts: list[PathPart] = ["functions", str(name)]
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            yield parts, "function name must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
        if not isinstance(function, dict):
            yield parts, "must be a mapping"
            continue
        yield from _function_problems(function, parts, exists, templates, community)


def _configuration_problems(configuration: Mapping[str, Any], exists: Exists
                            ) -> Iterator[Problem]:
    yield from _unknown(configuration, CONFIGURATION_KEYS, ["configuration"])
    for key in ("templates", "copy"):
        if key in configuration and not isinstance(configuration[key], list):
            yield ["configuration", key], "must be a list"
    for position, source in enumerate(sequence(configuration.get("templates"))):
        here: list[PathPart] = ["configuration", "templates", position]
        yield from _unknown(mapping(source), TEMPLATE_SOURCE_KEYS, here)
        if not isinstance(mapping(source).get("name"), str):
            yield [*here, "name"], "is required"
    for position, path in enumerate(sequence(configuration.get("copy"))):
        here = ["configuration", "copy", position]
        if not isinstance(path, str) or path.startswith("/") or ".." in path.split("/"):
            yield here, "must be a path inside the project, relative to stack.yml"
        elif not exists(path):
            yield here, f"{path} does not exist"


def _edition_problems(functions: Mapping[str, Any]) -> Iterator[Problem]:
    declared = {name: mapping(mapping(f).get("labels")).get(EDITION_LABEL)
                for name, f in functions.items()}
    for name, value in declared.items():
        if value is not None and value not in EDITIONS:
            yield (["functions", name, "labels", EDITION_LABEL],
                   f"must be one of {', '.join(EDITIONS)}")
    if "pro" in declared.values() and edition(functions) != "pro":
        first_missing = next(name for name, value in declared.items() if value != "pro")
        yield (["functions", first_missing, "labels", EDITION_LABEL],
               "the edition is the installation's: label every function pro, or none")


def _function_problems(function: Mapping[str, Any], parts: list[PathPart], exists: Exists,
                       templates: set[str], community: bool) -> Iterator[Problem]:
    yield from _unknown(function, FUNCTION_KEYS, parts)
    for key in ("lang", "handler", "image"):
        if not isinstance(function.get(key), str) or not function[key]:
            yield [*parts, key], "is required"
    lang, handler = function.get("lang"), function.get("handler")
    if isinstance(lang, str) and lang and lang != "dockerfile" and lang not in templates \
            and not exists(f"template/{lang}"):
        yield ([*parts, "lang"], f"no template/{lang} folder and no configuration.templates "
                                 "entry to pull it from")
    if isinstance(handler, str) and handler and not exists(handler):
        yield [*parts, "handler"], f"{handler} does not exist"
    for key in STRING_MAPS:
        value = function.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            yield [*parts, key], "must be a mapping of strings"
            continue
        for item, text in value.items():
            if not isinstance(text, str):
                yield [*parts, key, str(item)], f"must be a string (quote it): found {text!r}"
    for key in STRING_LISTS:
        value = function.get(key)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            yield [*parts, key], "must be a list of strings"
    for position, secret in enumerate(sequence(function.get("secrets"))):
        if isinstance(secret, str) and not SECRET_NAME.match(secret):
            yield [*parts, "secrets", position], "must be a lower-case DNS name"
    for position, env_file in enumerate(sequence(function.get("environment_file"))):
        if isinstance(env_file, str) and not exists(env_file):
            yield [*parts, "environment_file", position], f"{env_file} does not exist"
    for key in ("limits", "requests"):
        resources = function.get(key)
        if resources is None:
            continue
        yield from _unknown(mapping(resources), RESOURCE_KEYS, [*parts, key])
        for item, text in mapping(resources).items():
            if item in RESOURCE_KEYS and not isinstance(text, str):
                yield [*parts, key, item], f"must be a string (quote it): found {text!r}"
    for key in BOOLEANS:
        if key in function and not isinstance(function[key], bool):
            yield [*parts, key], "must be true or false"
    yield from _scaling_problems(mapping(function.get("labels")), [*parts, "labels"], community)
    namespace = function.get("namespace")
    if community and namespace is not None and namespace != CE_FUNCTION_NAMESPACE:
        yield ([*parts, "namespace"],
               f"Community Edition deploys only to {CE_FUNCTION_NAMESPACE}")


def _scaling_problems(labels: Mapping[str, Any], parts: list[PathPart], community: bool
                      ) -> Iterator[Problem]:
    """Replica bounds are whole numbers, min <= max; Community Edition's limits when it applies."""
    if community:
        for label in PRO_ONLY_LABELS:
            if label in labels:
                yield [*parts, label], "not available on Community Edition (Pro only)"
    bounds: dict[str, int] = {}
    for label in (SCALE_MIN, SCALE_MAX):
        text = labels.get(label)
        if not isinstance(text, str):
            continue  # absent, or already reported as "must be a string"
        if not text.isdigit():
            yield [*parts, label], "must be a whole number"
            continue
        bounds[label] = int(text)
        if community and bounds[label] > CE_MAX_REPLICAS:
            yield ([*parts, label],
                   f"Community Edition allows at most {CE_MAX_REPLICAS} replicas, found {text}")
    if community and bounds.get(SCALE_MIN) == 0:
        yield [*parts, SCALE_MIN], "Community Edition cannot scale to zero: use 1 or more"
    if SCALE_MIN in bounds and SCALE_MAX in bounds and bounds[SCALE_MIN] > bounds[SCALE_MAX]:
        yield [*parts, SCALE_MIN], f"must not exceed {SCALE_MAX}"


def stack_findings(doc: Document, exists: Exists) -> Iterator[Finding]:
    """stack_problems as findings of the document."""
    yield from located(doc.file, doc.index, stack_problems(doc.body, exists))
