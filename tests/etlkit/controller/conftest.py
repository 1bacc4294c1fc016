"""A throwaway embedded broker for the Kafka edges' tests (starts in well under a second)."""
import pytest

from devstack.broker import EmbeddedBroker, create_topics


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log").start()
    yield b
    b.stop()


@pytest.fixture
def make_topics(broker):
    def make(topics):
        create_topics(broker.bootstrap, topics)
        return broker.bootstrap
    return make
