"""The enrich step: joins, the missing-key policies, config errors, and build_lookup."""
import pytest

from etlkit.steps import (CachedLookup, ConfigError, EnrichConfig, LookupUnavailable, StaticLookup,
                          build_lookup, run_enrich)

CUSTOMERS = {"C1": {"customer_id": "C1", "name": "Ada", "country": "FR"},
             "42": {"customer_id": "42", "name": "Num", "country": "DE"}}


def enrich(params, *values, table=CUSTOMERS, make_record):
    config = EnrichConfig.from_dict({"lookup": "customers.csv", **params})
    return run_enrich(config, [make_record(v, key=f"k{i}") for i, v in enumerate(values)],
                      step="with-customer", now_ms=3, lookup=StaticLookup(table))


def test_copies_the_chosen_columns(make_record):
    outcome = enrich({"on": "customer_id", "fields": ["country"]},
                     {"customer_id": "C1", "amount": 1}, make_record=make_record)
    assert [r.value for r in outcome.records] == [{"customer_id": "C1", "amount": 1, "country": "FR"}]


def test_all_columns_with_prefix_and_numeric_key(make_record):
    outcome = enrich({"on": "order.cust", "prefix": "c_"}, {"order": {"cust": 42}},
                     make_record=make_record)
    assert outcome.records[0].value == {"order": {"cust": 42}, "c_customer_id": "42",
                                        "c_name": "Num", "c_country": "DE"}


@pytest.mark.parametrize("params, value, expected", [
    pytest.param({"on": "customer_id", "fields": ["name", "country"], "prefix": "c_"},
                 {"customer_id": "C1"}, {"customer_id": "C1", "c_name": "Ada", "c_country": "FR"},
                 id="chosen-columns-with-prefix"),
    pytest.param({"on": "customer_id", "fields": ["name", "nope"]}, {"customer_id": "C1", "name": "x"},
                 {"customer_id": "C1", "name": "Ada", "nope": None}, id="row-column-overwrites"),
    pytest.param({"on": "o.c", "fields": ["country"]}, {"o": {"c": "C1"}},
                 {"o": {"c": "C1"}, "country": "FR"}, id="nested-key-top-level-column"),
])
def test_columns_land_where_the_config_says(params, value, expected, make_record):
    original = {k: (dict(v) if isinstance(v, dict) else v) for k, v in value.items()}
    outcome = enrich(params, value, make_record=make_record)
    assert outcome.records[0].value == expected and value == original


def test_a_missing_key_reason_names_the_join_field(make_record):
    outcome = enrich({"on": "o.c", "on_missing": "dead_letter"}, {"o": {"c": "C9"}}, {"o": {}},
                     make_record=make_record)
    assert [d.reason for d in outcome.dead_letters] == ["join key o.c: no row for 'C9'",
                                                        "join key o.c: is null"]


def test_into_nests_the_row(make_record):
    outcome = enrich({"on": "customer_id", "into": "customer", "fields": ["name"]},
                     {"customer_id": "C1"}, make_record=make_record)
    assert outcome.records[0].value == {"customer_id": "C1", "customer": {"name": "Ada"}}


@pytest.mark.parametrize("policy, out, filtered, dead", [
    pytest.param("keep", 2, 0, 0, id="keep"),
    pytest.param("filter", 0, 2, 0, id="filter"),
    pytest.param("dead_letter", 0, 0, 2, id="dead-letter"),
])
def test_missing_key_policies(policy, out, filtered, dead, make_record):
    outcome = enrich({"on": "customer_id", "on_missing": policy, "fields": ["name", "country"]},
                     {"customer_id": "nobody"}, {"customer_id": None}, make_record=make_record)
    c = outcome.counters
    assert (c.out, c.filtered, c.dead_lettered) == (out, filtered, dead)
    if policy == "keep":
        assert outcome.records[0].value == {"customer_id": "nobody", "name": None, "country": None}
    if policy == "dead_letter":
        assert [d.reason for d in outcome.dead_letters] == [
            "join key customer_id: no row for 'nobody'", "join key customer_id: is null"]


def test_keep_without_fields_adds_nothing_and_into_becomes_null(make_record):
    plain = enrich({"on": "customer_id"}, {"customer_id": "x"}, make_record=make_record)
    nested = enrich({"on": "customer_id", "into": "c"}, {"customer_id": "x"}, make_record=make_record)
    assert plain.records[0].value == {"customer_id": "x"}
    assert nested.records[0].value == {"customer_id": "x", "c": None}


def test_a_non_scalar_key_is_a_dead_letter(make_record):
    outcome = enrich({"on": "customer_id"}, {"customer_id": {"id": 1}}, make_record=make_record)
    assert outcome.dead_letters[0].reason == \
        "join key customer_id: a join key must be text or a number, got object"


def test_the_table_is_read_once_per_batch(make_record):
    calls = []

    class CountingLookup:
        def table(self, now_ms):
            calls.append(now_ms)
            return CUSTOMERS

    config = EnrichConfig.from_dict({"on": "customer_id", "lookup": "x.csv"})
    run_enrich(config, [make_record({"customer_id": "C1"})] * 3, step="e", now_ms=9,
               lookup=CountingLookup())
    assert calls == [9]


def test_lookup_string_is_a_file_keyed_like_the_join_field():
    config = EnrichConfig.from_dict({"on": "order.customer_id", "lookup": "data/c.csv", "refresh": "1m"})
    assert config.lookup == {"kind": "file", "path": "data/c.csv", "key": "customer_id"}
    assert config.refresh_ms == 60_000


@pytest.mark.parametrize("params, field, rule", [
    pytest.param({"lookup": "c.csv"}, "params.on", "is required", id="no-join-field"),
    pytest.param({"on": "id"}, "params.lookup", "must be a file path or an object", id="no-lookup"),
    pytest.param({"on": "id", "lookup": {"path": "x"}}, "params.lookup.kind", "is required", id="no-kind"),
    pytest.param({"on": "id", "lookup": {"kind": "file"}}, "params.lookup.path", "is required",
                 id="file-without-path"),
    pytest.param({"on": "id", "lookup": {"kind": "file", "path": "x", "format": "xml"}},
                 "params.lookup.format", "must be one of csv, jsonl", id="bad-format"),
    pytest.param({"on": "id", "lookup": "c.csv", "on_missing": "drop"}, "params.on_missing",
                 "must be one of keep, filter, dead_letter", id="bad-policy"),
    pytest.param({"on": "id", "lookup": "c.csv", "prefix": "p_", "into": "c"}, "params.into",
                 "cannot be combined with prefix", id="prefix-and-into"),
    pytest.param({"on": "id", "lookup": "c.csv", "refresh": "soon"}, "params.refresh",
                 "expected a duration like '30s'", id="bad-refresh"),
    pytest.param({"on": "id", "lookup": "c.csv", "fields": "name"}, "params.fields",
                 "must be a non-empty list", id="fields-not-a-list"),
    pytest.param({"on": "id", "lookup": "c.csv", "True": 1}, "params.True", "is not a known setting",
                 id="unknown"),
    pytest.param({"on": "id", "lookup": {"kind": "url", "url": "ftp://x/c.csv"}}, "params.lookup.url",
                 "must be an http:// or https:// URL", id="url-not-http"),
    pytest.param({"on": "id", "lookup": {"kind": "url"}}, "params.lookup.url", "is required",
                 id="url-kind-without-url"),
])
def test_config_errors(params, field, rule, assert_config_error):
    assert_config_error(EnrichConfig.from_dict, params, field, rule)


def test_a_yaml_boolean_key_gets_a_hint():
    with pytest.raises(ConfigError, match="YAML turns on/off/yes/no into true/false"):
        EnrichConfig.from_dict({True: "customer_id", "on": "id", "lookup": "c.csv"})


def test_build_lookup_reads_a_file_relative_to_base_dir(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text("customer_id,name\nC1,Ada\n", encoding="utf-8")
    config = EnrichConfig.from_dict({"on": "customer_id", "lookup": "data/c.csv"})
    lookup = build_lookup(config, base_dir=tmp_path)
    assert isinstance(lookup, CachedLookup)
    assert lookup.table(0) == {"C1": {"customer_id": "C1", "name": "Ada"}}


def test_build_lookup_takes_other_kinds_from_the_caller():
    class Warehouse:
        def __init__(self, spec, where):
            self.spec = spec

        def load(self):
            return {"1": {"v": self.spec["table"]}}

    config = EnrichConfig.from_dict({"on": "id", "lookup": {"kind": "warehouse", "table": "dim"}})
    with pytest.raises(ConfigError, match="params.lookup.kind: must be one of file, url$"):
        build_lookup(config)
    assert build_lookup(config, {"warehouse": Warehouse}).table(0) == {"1": {"v": "dim"}}


def test_a_missing_file_is_a_batch_fault_not_a_record_fault(tmp_path, make_record):
    config = EnrichConfig.from_dict({"on": "id", "lookup": str(tmp_path / "absent.csv")})
    with pytest.raises(LookupUnavailable, match="absent.csv: cannot read"):
        run_enrich(config, [make_record({"id": 1})], step="e", now_ms=0, lookup=build_lookup(config))


def test_a_lookup_url_is_downloaded_at_each_load_and_cached_between(http_files, make_record):
    """The cluster's way (a pod has no files of yours): the table is fetched over HTTP."""
    base, files = http_files
    files["/tables/customers.csv"] = b"customer_id,country\nC1,DE\n"
    config = EnrichConfig.from_dict({"on": "customer_id", "lookup": f"{base}/tables/customers.csv",
                                     "fields": ["country"], "refresh": "1m"})
    assert config.lookup == {"kind": "url", "url": f"{base}/tables/customers.csv", "key": "customer_id"}
    lookup = build_lookup(config, base_dir="/nowhere")  # a base folder does not apply to a URL
    outcome = run_enrich(config, [make_record({"customer_id": "C1"})], step="e", now_ms=0, lookup=lookup)
    assert [r.value for r in outcome.records] == [{"customer_id": "C1", "country": "DE"}]
    files["/tables/customers.csv"] = b"customer_id,country\nC1,FR\n"
    assert lookup.table(59_999)["C1"]["country"] == "DE"  # cached
    assert lookup.table(60_000)["C1"]["country"] == "FR"  # refreshed
    assert files.hits["/tables/customers.csv"] == 2


def test_a_lookup_url_that_fails_is_a_batch_fault(http_files, make_record):
    base, _files = http_files
    config = EnrichConfig.from_dict({"on": "id", "lookup": {"kind": "url", "url": f"{base}/absent.jsonl"}})
    with pytest.raises(LookupUnavailable, match="absent.jsonl: HTTP 404"):
        run_enrich(config, [make_record({"id": 1})], step="e", now_ms=0, lookup=build_lookup(config))
