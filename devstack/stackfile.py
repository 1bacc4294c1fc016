"""stack.yml, read into typed objects (the subset of faas-cli's schema this project uses)."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import yaml


class StackError(ValueError):
    """stack.yml breaks a rule; the message names the field."""


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    lang: str
    handler: str
    image: str
    environment: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    limits: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    path: pathlib.Path
    gateway: str
    functions: dict[str, FunctionSpec]
    copy: tuple[str, ...] = ()

    @property
    def root(self) -> pathlib.Path:
        return self.path.parent


def _strings(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StackError(f"{where}: must be a mapping")
    for key, item in value.items():
        if not isinstance(item, str):
            raise StackError(f"{where}.{key}: must be a string (quote it), got {type(item).__name__}")
    return dict(value)


def load_stack(path: str | pathlib.Path) -> Stack:
    path = pathlib.Path(path).resolve()
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise StackError("stack.yml: must be a mapping")
    provider = doc.get("provider") or {}
    functions = {}
    for name, raw in (doc.get("functions") or {}).items():
        where = f"functions.{name}"
        if not isinstance(raw, dict):
            raise StackError(f"{where}: must be a mapping")
        for key in ("lang", "handler", "image"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise StackError(f"{where}.{key}: required string")
        functions[name] = FunctionSpec(
            name=name, lang=raw["lang"], handler=raw["handler"], image=raw["image"],
            environment=_strings(raw.get("environment"), f"{where}.environment"),
            labels=_strings(raw.get("labels"), f"{where}.labels"),
            annotations=_strings(raw.get("annotations"), f"{where}.annotations"),
            secrets=tuple(raw.get("secrets") or ()),
            constraints=tuple(raw.get("constraints") or ()),
            limits=_strings(raw.get("limits"), f"{where}.limits"),
            requests=_strings(raw.get("requests"), f"{where}.requests"))
    configuration = doc.get("configuration") or {}
    return Stack(path=path, gateway=str(provider.get("gateway", "")), functions=functions,
                 copy=tuple(configuration.get("copy") or ()))
