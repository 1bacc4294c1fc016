"""The registry: versions, idempotent registration, refusals naming fields, validation."""
import pytest

from etlkit.state_db import SqliteStateDb
from etlkit.schemas import (IncompatibleSchema, InMemorySchemaStore, StateDbSchemaStore,
                            SchemaInvalid, SchemaRegistry, UnknownSubject, VersionConflict)

V1 = {"type": "object", "properties": {"id": {"type": "string"}, "amount": {"type": "number"}},
      "required": ["id", "amount"]}
V2 = {**V1, "properties": {**V1["properties"], "note": {"type": "string"}}}


def test_versions_and_latest():
    registry = SchemaRegistry(InMemorySchemaStore())
    assert registry.register("orders", V1) == 1
    assert registry.register("orders", V2) == 2
    assert registry.versions("orders") == [1, 2] and registry.subjects() == ["orders"]
    assert registry.schema("orders") == V2 and registry.schema("orders", 1) == V1


def test_registering_the_latest_again_is_idempotent():
    registry = SchemaRegistry(InMemorySchemaStore())
    registry.register("orders", V1)
    assert registry.register("orders", dict(reversed(list(V1.items())))) == 1
    assert registry.versions("orders") == [1]


@pytest.mark.parametrize("new, message", [
    pytest.param({**V1, "required": ["id"]},
                 "orders: not FULL compatible with version 1: amount: required field removed or made "
                 "optional: readers on the old version need it", id="removed-required"),
    pytest.param({**V1, "properties": {**V1["properties"], "amount": {"type": "string"}}},
                 "orders: not FULL compatible with version 1: amount: type changed from number to string",
                 id="changed-type"),
    pytest.param({**V2, "required": ["id", "amount", "note"]},
                 "orders: not FULL compatible with version 1: note: newly required: records written "
                 "with the old version may not have it", id="newly-required"),
])
def test_incompatible_changes_are_refused_naming_the_field(new, message):
    registry = SchemaRegistry(InMemorySchemaStore())
    registry.register("orders", V1)
    with pytest.raises(IncompatibleSchema) as caught:
        registry.register("orders", new)
    assert str(caught.value) == message
    assert registry.versions("orders") == [1]
    assert registry.check("orders", new) == caught.value.problems


def test_levels_per_subject():
    registry = SchemaRegistry(InMemorySchemaStore(), compatibility="BACKWARD",
                              subject_levels={"loose": "NONE"})
    registry.register("orders", V1)
    assert registry.register("orders", {**V1, "required": ["id"]}) == 2  # fine backward
    registry.register("loose", V1)
    assert registry.register("loose", {"type": "object", "properties": {"id": {"type": "integer"}}}) == 2
    with pytest.raises(ValueError, match="compatibility: must be one of"):
        SchemaRegistry(InMemorySchemaStore(), compatibility="STRICT")


@pytest.mark.parametrize("subject, schema, message", [
    pytest.param("orders/x", V1, "subject: must be a topic name", id="bad-subject"),
    pytest.param("orders", {"type": 5}, "schema.type", id="bad-schema"),
])
def test_invalid_input(subject, schema, message):
    with pytest.raises(SchemaInvalid, match=message):
        SchemaRegistry(InMemorySchemaStore()).register(subject, schema)


def test_unknown_subject_and_version():
    registry = SchemaRegistry(InMemorySchemaStore({"orders": [V1]}))
    with pytest.raises(UnknownSubject, match="^nope: no schema registered$"):
        registry.schema("nope")
    with pytest.raises(UnknownSubject, match=r"^orders: no version 3 \(versions 1-1\)$"):
        registry.schema("orders", 3)


def test_validate_against_the_latest_or_a_given_version():
    registry = SchemaRegistry(InMemorySchemaStore())
    registry.register("orders", V1)
    registry.register("orders", V2)
    assert [str(p) for p in registry.validate("orders", {"id": "a", "amount": 1, "note": 5})] == [
        "note: expected type string, got integer"]
    assert registry.validate("orders", {"id": "a", "amount": 1, "note": 5}, version=1) == []
    assert registry.validator("orders") is registry.validator("orders", 2)


def test_a_concurrent_registration_is_checked_against_too():
    class RacingStore(InMemorySchemaStore):
        """Another replica registers a version just before our first append lands."""

        def __init__(self):
            super().__init__({"orders": [V1]})
            self.raced = False

        def append(self, subject, version, schema):
            if not self.raced:
                self.raced = True
                super().append(subject, version, {**V1, "properties": {**V1["properties"],
                                                                         "note": {"type": "integer"}}})
            super().append(subject, version, schema)

    registry = SchemaRegistry(RacingStore())
    with pytest.raises(IncompatibleSchema, match="version 2: note: type changed from integer to string"):
        registry.register("orders", V2)


def test_gives_up_after_repeated_conflicts():
    class AlwaysConflicting(InMemorySchemaStore):
        def append(self, subject, version, schema):
            raise VersionConflict("busy")

    with pytest.raises(VersionConflict, match="5 concurrent registrations"):
        SchemaRegistry(AlwaysConflicting()).register("orders", V1)


def test_a_second_registry_sees_versions_after_refresh(tmp_path):
    path = tmp_path / "state.db"
    first = SchemaRegistry(StateDbSchemaStore(SqliteStateDb(path)))
    second = SchemaRegistry(StateDbSchemaStore(SqliteStateDb(path)))
    first.register("orders", V1)
    assert second.versions("orders") == [1]
    first.register("orders", V2)
    assert second.versions("orders") == [1]  # cached view
    second.refresh()
    assert second.versions("orders") == [1, 2]


def test_a_schema_holding_a_decimal_a_double_cannot_hold_is_kept_with_its_digits(tmp_path):
    """etlkit.http reads 123456789012345678901234567890.123 as a Decimal: the registry writes
    it (canonical form, state database) with the one exact writer and reads it back exactly."""
    from decimal import Decimal

    from etlkit.http import parse_json_body

    text = ('{"type": "object", "properties": {"amount": {"type": "number", '
            '"maximum": 123456789012345678901234567890.123, "enum": [0.1000000000000000000001, 1]}}}')
    schema = parse_json_body(text.encode())
    registry = SchemaRegistry(StateDbSchemaStore(SqliteStateDb(tmp_path / "state.db")))
    assert registry.register("orders", schema) == 1
    assert registry.register("orders", parse_json_body(text.encode())) == 1  # the same, idempotent
    again = SchemaRegistry(StateDbSchemaStore(SqliteStateDb(tmp_path / "state.db"))).schema("orders")
    amount = again["properties"]["amount"]
    assert amount["maximum"] == Decimal("123456789012345678901234567890.123")
    assert type(amount["enum"][0]) is Decimal and str(amount["enum"][0]) == "0.1000000000000000000001"
    changed = parse_json_body(text.replace("0.1000000000000000000001", "0.1000000000000000000002").encode())
    with pytest.raises(IncompatibleSchema, match=r"values \[0.1000000000000000000001\] no longer allowed"):
        registry.register("orders", changed)
