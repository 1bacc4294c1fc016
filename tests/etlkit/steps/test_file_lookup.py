"""FileLookupSource: CSV and JSON Lines tables, and every way a file is refused (with its line)."""
import pytest

from etlkit.steps import ConfigError, FileLookupSource, LookupLoadError


def source(tmp_path, text, fmt="csv", **options):
    path = tmp_path / f"table.{fmt}"
    path.write_text(text, encoding="utf-8")
    return FileLookupSource(path, options.pop("key", "id"), fmt, **options)


def test_csv_rows_keyed_by_the_key_column(tmp_path):
    table = source(tmp_path, "id,name,tier\n1,Ada,gold\n2,Ben,\n").load()
    assert table == {"1": {"id": "1", "name": "Ada", "tier": "gold"},
                     "2": {"id": "2", "name": "Ben", "tier": ""}}


def test_jsonl_rows_keep_types_and_skip_blank_lines(tmp_path):
    table = source(tmp_path, '{"id": 7, "vip": true}\n\n{"id": "x", "n": [1]}\n', "jsonl").load()
    assert table == {"7": {"id": 7, "vip": True}, "x": {"id": "x", "n": [1]}}


def test_empty_csv_is_an_empty_table(tmp_path):
    assert source(tmp_path, "").load() == {}


@pytest.mark.parametrize("text, fmt, options, message", [
    pytest.param("name\nAda\n", "csv", {}, "table.csv:1: no column 'id' in the header", id="no-key-column"),
    pytest.param("id,name\n1,Ada\n1,Ben\n", "csv", {}, "table.csv:3: key '1' repeats", id="duplicate"),
    pytest.param("id,name\n,Ada\n", "csv", {}, "table.csv:2: empty key 'id'", id="empty-key"),
    pytest.param("id,name\n1,Ada,extra\n", "csv", {}, "table.csv:2: more values than columns",
                 id="extra-values"),
    pytest.param("id\n1\n2\n3\n", "csv", {"max_rows": 2}, "table.csv:4: more than 2 rows", id="too-many"),
    pytest.param('{"id": 1}\n{"id": \n', "jsonl", {}, "table.jsonl:2: not JSON", id="bad-json"),
    pytest.param('[1, 2]\n', "jsonl", {}, "table.jsonl:1: not a JSON object", id="not-an-object"),
    pytest.param('{"name": "x"}\n', "jsonl", {}, "table.jsonl:1: no key field 'id'", id="no-key-field"),
    pytest.param('{"id": {"a": 1}}\n', "jsonl", {}, "a join key must be text or a number",
                 id="object-key"),
])
def test_refusals_name_file_and_line(tmp_path, text, fmt, options, message):
    with pytest.raises(LookupLoadError) as caught:
        source(tmp_path, text, fmt, **options).load()
    assert message in str(caught.value)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(LookupLoadError, match="cannot read"):
        FileLookupSource(tmp_path / "absent.csv", "id").load()
    (tmp_path / "latin1.csv").write_bytes("id,name\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(LookupLoadError, match="not UTF-8"):
        FileLookupSource(tmp_path / "latin1.csv", "id").load()


def test_from_dict_defaults_the_format_from_the_extension(tmp_path):
    built = FileLookupSource.from_dict({"kind": "file", "path": "t.ndjson", "key": "id"},
                                       base_dir=tmp_path)
    assert built == FileLookupSource(tmp_path / "t.ndjson", "id", "jsonl")


def test_from_dict_refuses_unknown_settings():
    with pytest.raises(ConfigError, match="lookup.sheet: is not a known setting"):
        FileLookupSource.from_dict({"kind": "file", "path": "t.csv", "key": "id", "sheet": 1},
                                   "lookup")
