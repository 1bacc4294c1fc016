import pytest

from etlkit.warehouse.url import (
    DatabaseUrlError,
    PostgresTarget,
    SqliteTarget,
    parse_database_url,
    read_secret,
    redact_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///warehouse.db", SqliteTarget("warehouse.db")),
        ("sqlite:////var/lib/etl/warehouse.db", SqliteTarget("/var/lib/etl/warehouse.db")),
        ("sqlite:///:memory:", SqliteTarget(":memory:")),
        ("postgresql://etl@db:5432/dw", PostgresTarget("postgresql://etl@db:5432/dw", None)),
        ("postgres://etl@db/dw", PostgresTarget("postgresql://etl@db/dw", None)),
        ("postgresql://etl:s%40cret@db:5432/dw?sslmode=require", PostgresTarget("postgresql://etl@db:5432/dw?sslmode=require", "s@cret")),
        ("postgresql://db/dw", PostgresTarget("postgresql://db/dw", None)),
    ],
    ids=[
        "sqlite-relative",
        "sqlite-absolute-four-slashes",
        "sqlite-memory",
        "postgres-contract-shape",
        "postgres-short-scheme",
        "postgres-password-in-url-split-out-and-decoded",
        "postgres-no-user",
    ],
)
def test_parse(url: str, expected):
    assert parse_database_url(url) == expected


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("warehouse.db", "must be a URL"),
        ("mysql://etl@db/dw", "scheme 'mysql'"),
        ("sqlite:///", "no file path"),
        ("sqlite://host/x.db", "no host"),
        ("sqlite:///x.db?mode=ro", "no host, query"),
        ("postgresql://etl@db:5432/", "names no database"),
    ],
    ids=["no-scheme", "unsupported-scheme", "sqlite-empty-path", "sqlite-with-host", "sqlite-with-query", "postgres-no-database"],
)
def test_bad_urls_name_the_setting_and_rule(url: str, rule: str):
    with pytest.raises(DatabaseUrlError, match=rule) as refused:
        parse_database_url(url)
    assert str(refused.value).startswith("WAREHOUSE_URL: ")


def test_password_never_in_repr():
    target = parse_database_url("postgresql://etl:hunter2@db/dw")
    assert "hunter2" not in repr(target)
    assert target.password == "hunter2"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://etl:hunter2@db/dw", "postgresql://etl:***@db/dw"),
        ("postgresql://etl@db/dw", "postgresql://etl@db/dw"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
    ids=["with-password", "without-password", "sqlite"],
)
def test_redact_url(url: str, shown: str):
    assert redact_url(url) == shown


def test_read_secret_strips_only_the_trailing_newline(tmp_path, monkeypatch):
    (tmp_path / "warehouse-password").write_text(" pass word \n")
    monkeypatch.setenv("OPENFAAS_SECRETS_DIR", str(tmp_path))
    assert read_secret("warehouse-password") == " pass word "
    assert read_secret("missing") is None
    assert read_secret("warehouse-password", secrets_dir=tmp_path / "elsewhere") is None
