"""Record validation messages name the field path and the rule; invalid schemas are refused."""
import pytest

from etlkit.schemas import RecordValidator, SchemaInvalid, FieldProblem, check_schema

ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^O[0-9]+$"},
        "amount": {"type": "number", "minimum": 0},
        "status": {"enum": ["paid", "shipped"]},
        "customer": {"type": "object", "properties": {"email": {"type": "string", "maxLength": 20}},
                     "required": ["email"]},
        "items": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
    },
    "required": ["id", "amount"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("record, problems", [
    pytest.param({"id": "O1", "amount": 3}, [], id="valid"),
    pytest.param({"amount": 3}, ["id: required field is missing"], id="missing-required"),
    pytest.param({"id": "O1", "amount": "3"}, ["amount: expected type number, got string"], id="type"),
    pytest.param({"id": "O1", "amount": -1}, ["amount: must be >= 0 (minimum)"], id="minimum"),
    pytest.param({"id": "X", "amount": 1}, ["id: must match the pattern '^O[0-9]+$'"], id="pattern"),
    pytest.param({"id": "O1", "amount": 1, "status": "lost"}, ['status: must be one of ["paid", "shipped"]'],
                 id="enum"),
    pytest.param({"id": "O1", "amount": 1, "customer": {}}, ["customer.email: required field is missing"],
                 id="nested-required"),
    pytest.param({"id": "O1", "amount": 1, "customer": {"email": "x" * 30}},
                 ["customer.email: must be at most 20 characters long (maxLength)"], id="nested-bound"),
    pytest.param({"id": "O1", "amount": 1, "items": [{"qty": 1}, {"qty": 1.5}]},
                 ["items[1].qty: expected type integer, got number"], id="array-index"),
    pytest.param({"id": "O1", "amount": 1, "colour": "red", "size": 3},
                 ["colour: unexpected field (not in the schema)", "size: unexpected field (not in the schema)"],
                 id="unexpected-fields"),
    pytest.param({"id": 1, "amount": None}, ["amount: expected type number, got null",
                                             "id: expected type string, got integer"], id="sorted-by-path"),
    pytest.param([1], ["(record): expected type object, got array"], id="not-an-object"),
])
def test_problems(record, problems):
    assert [str(p) for p in RecordValidator(ORDER).problems(record)] == problems


def test_first_problem_for_the_ingest_hook():
    validator = RecordValidator(ORDER)
    assert validator.first_problem({"id": "O1", "amount": 1}) is None
    assert validator.first_problem({"amount": "x"}) == "amount: expected type number, got string"


def test_problems_are_bounded():
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    record = {f"f{i}": "text" for i in range(500)}
    assert len(RecordValidator(schema).problems(record)) == 20


def test_draft_7_schemas_keep_their_draft():
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"t": {"type": "array", "items": [{"type": "string"}]}}}
    assert RecordValidator(draft7).problems({"t": [1]}) == [
        FieldProblem("t[0]", "expected type string, got integer")]


@pytest.mark.parametrize("schema, message", [
    pytest.param({"type": "objekt"}, "schema.type: 'objekt' is not valid", id="bad-type-name"),
    pytest.param({"type": "object", "properties": {"a": {"minimum": "0"}}},
                 "schema.properties.a.minimum: '0' is not of type 'number'", id="nested-bad-keyword"),
    pytest.param({"type": "string"}, "schema.type: records are JSON objects", id="not-an-object-schema"),
    pytest.param(False, "schema.type: records are JSON objects", id="false-schema"),
    pytest.param("object", "schema: must be a JSON Schema object", id="text"),
])
def test_invalid_schemas(schema, message):
    with pytest.raises(SchemaInvalid) as caught:
        check_schema(schema)
    assert str(caught.value).startswith(message)
