"""The PostgreSQL fixtures are imported here until tests/conftest.py registers
``pytest_plugins = ["tests.fixtures.postgres"]`` for the whole suite."""
from tests.fixtures.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
