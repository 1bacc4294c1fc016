"""A workflow's URL reference resolves as the workflow model promises: env:, secret:, or a URL."""
import pytest

from etlkit.warehouse import DatabaseUrlError, resolve_reference


def test_env_secret_and_literal_references(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_DB", "sqlite:///from-env.db")
    (tmp_path / "warehouse-url").write_text("postgresql://etl:pw@db:5432/dw\n")
    assert resolve_reference("env:SOME_DB", "step.url") == "sqlite:///from-env.db"
    assert resolve_reference("secret:warehouse-url", "step.url", tmp_path) == "postgresql://etl:pw@db:5432/dw"
    assert resolve_reference("sqlite:///x.db", "step.url") == "sqlite:///x.db"


@pytest.mark.parametrize("reference,shown", [
    ("env:NOT_SET_ANYWHERE", "env:NOT_SET_ANYWHERE"), ("secret:absent", "secret:absent"),
    ("", "an empty URL")], ids=["unset-variable", "missing-secret", "empty"])
def test_a_reference_to_nothing_names_the_field_and_never_a_url(tmp_path, monkeypatch, reference, shown):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(DatabaseUrlError) as raised:
        resolve_reference(reference, "source.url", tmp_path)
    assert str(raised.value) == f"source.url: {shown} names no database URL"
