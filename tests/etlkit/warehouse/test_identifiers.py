import pytest

from etlkit.warehouse.identifiers import InvalidIdentifier, check_identifier, quote


@pytest.mark.parametrize(
    "name",
    ["orders", "_private", "Order_Lines_2", "a" * 63],
    ids=["lowercase", "leading-underscore", "mixed-case-digits", "63-chars-max"],
)
def test_safe_names_pass_and_are_quoted(name: str):
    assert check_identifier(name) == name
    assert quote(name) == f'"{name}"'


@pytest.mark.parametrize(
    "name",
    [
        'orders"; DROP TABLE orders; --',
        "orders; DROP TABLE orders",
        'a"b',
        "public.orders",
        "two words",
        "1st",
        "",
        "a" * 64,
        "café",
        "new\nline",
        None,
        42,
    ],
    ids=[
        "quote-breakout-injection",
        "statement-injection",
        "embedded-quote",
        "schema-qualified",
        "space",
        "leading-digit",
        "empty",
        "64-chars-too-long",
        "non-ascii",
        "newline",
        "none",
        "not-a-string",
    ],
)
def test_unsafe_names_are_refused_naming_them(name: object):
    with pytest.raises(InvalidIdentifier) as refused:
        check_identifier(name, "table")
    assert repr(name) in str(refused.value)
    assert str(refused.value).startswith("table ")


def test_configuration_errors_are_warehouse_errors():
    """A caller catching WarehouseError (e.g. to answer 400) also catches bad names and URLs."""
    from etlkit.warehouse import DatabaseUrlError, WarehouseError

    assert issubclass(InvalidIdentifier, WarehouseError) and issubclass(InvalidIdentifier, ValueError)
    assert issubclass(DatabaseUrlError, WarehouseError) and issubclass(DatabaseUrlError, ValueError)
