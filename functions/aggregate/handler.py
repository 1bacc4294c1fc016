"""The aggregate step: tumbling event-time windows whose state outlives one invocation
(kept in etlkit.state_store, shared by every replica, saved only after Kafka acknowledged)."""
from .etlkit import kafka_io
from .etlkit.state_store import StateStore
from .etlkit.stepfn import handle_step

_state = None
kafka_io.start_producer()  # its producer id is ready by the first batch


def handle(event, context):
    global _state
    _state = _state or StateStore()
    return handle_step(event.body, "aggregate", kafka_io.now_ms(), kafka_io.produce_batches,
                       state=_state)
