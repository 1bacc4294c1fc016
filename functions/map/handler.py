"""The map step: a thin adapter around etlkit.stepfn (see docs/contracts.md, Step invocation)."""
from .etlkit import kafka_io
from .etlkit.stepfn import handle_step

kafka_io.start_producer()  # its producer id is ready by the first batch


def handle(event, context):
    return handle_step(event.body, "map", kafka_io.now_ms(), kafka_io.produce_batches)
