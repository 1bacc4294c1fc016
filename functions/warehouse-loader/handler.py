"""The warehouse loader: a batch of records upserted into SQLite or PostgreSQL by record key,
each input applied at most once (etlkit/warehouse/sink.py).

The spec's ``url`` is ``env:NAME`` (read from the environment), ``secret:name`` (an OpenFaaS
secret file: where a URL carrying a password belongs) or a database URL. Rows that cannot be
stored become dead letters with their reason; the rest are written in one transaction with the
input's identity. A database outage answers 503 and refused credentials (a wrong password
secret, role or database) 500: the deployment's faults, which the Sensor retries and then
dead-letters, never a 4xx that would blame the records. A retry of an input already written
writes nothing and answers 200 with ``"duplicate": 1``.
"""
from .etlkit import kafka_io
from .etlkit.http import database_url
from .etlkit.warehouse import open_warehouse
from .etlkit.warehouse.sink import handle_sink

kafka_io.start_producer()  # its producer id is ready by the first call

_warehouses = {}


def _warehouse(url_ref):
    url = database_url(url_ref, "step.url")  # a wrong reference 400, an empty variable 500
    if url not in _warehouses:
        _warehouses[url] = open_warehouse(url)
    return _warehouses[url]


def handle(event, context):
    return handle_sink(event.body, kafka_io.now_ms(), kafka_io.produce_batches, _warehouse)
