import pytest

from etlkit.sources.config import SourceConfigError
from etlkit.sources.file_config import FileSourceConfig


def test_from_spec_builds_a_frozen_config():
    config = FileSourceConfig.from_spec({"source": "orders", "format": "csv", "key_field": "id", "column_types": {"qty": "integer"}})
    assert config.column_types == {"qty": "integer"}
    with pytest.raises(TypeError):
        config.column_types["qty"] = "string"  # type: ignore[index]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"format": "csv"}, "source: required"),
        ({"source": "s", "format": "xml"}, "format: must be one of csv, jsonl"),
        ({"source": "s", "format": "csv", "key_field": ""}, "key_field: must be a non-empty string"),
        ({"source": "s", "format": "csv", "column_types": {"a": "date"}}, "column_types.a: must be one of"),
        ({"source": "s", "format": "csv", "column_types": ["a"]}, "column_types: must map"),
        ({"source": "s", "format": "jsonl", "infer_types": True}, "infer_types: only for csv"),
        ({"source": "s", "format": "csv", "infer_types": "yes"}, "infer_types: must be true or false"),
        ({"source": "s", "format": "csv", "delimiter": ";;"}, "delimiter: must be one character"),
        ({"source": "s", "format": "csv", "delimiter": '"'}, "delimiter: must be one character other than a quote"),
        ({"source": "s", "format": "csv", "max_line_bytes": 0}, "max_line_bytes: must be an integer from 1"),
        ({"source": "s", "format": "csv", "keyfield": "id"}, "keyfield: unknown field"),
    ],
    ids=[
        "source-missing",
        "format-unknown",
        "key-field-empty",
        "column-type-unknown",
        "column-types-not-a-mapping",
        "inference-is-csv-only",
        "infer-types-not-boolean",
        "delimiter-too-long",
        "delimiter-is-quote",
        "max-line-bytes-zero",
        "typo-in-field-name",
    ],
)
def test_errors_name_field_and_rule(spec: dict, message: str):
    with pytest.raises(SourceConfigError, match=message):
        FileSourceConfig.from_spec(spec)
