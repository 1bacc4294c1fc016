"""The aggregate step: tumbling event-time windows whose state outlives one invocation, kept in
etlkit.state_store (STATE_URL), shared by every replica: each call changes its input
partition's lane, and what it emits is produced from the store's outbox."""
from .etlkit import kafka_io
from .etlkit.state_store import open_state_store
from .etlkit.stepfn import handle_step

_state = None
kafka_io.start_producer()  # its producer id is ready by the first batch


def handle(event, context):
    global _state
    _state = _state or open_state_store()  # STATE_URL: sqlite:///path or postgresql://...
    return handle_step(event.body, "aggregate", kafka_io.now_ms(), kafka_io.produce_batches,
                       state=_state, partition_count=_input_partitions)


def _input_partitions(topic):
    """The partitions of the topic the event came from, so the watermark waits for every one;
    None (the partitions seen count) for a call naming a topic the cluster does not have: a
    direct call, since a Sensor's events always come from a real topic."""
    try:
        return kafka_io.partition_count(topic)  # one cache lookup, refreshed once if unknown
    except kafka_io.UnknownTopic:
        return None
