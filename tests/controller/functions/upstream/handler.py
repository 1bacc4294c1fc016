"""An upstream step for the routing tests: produces ``count`` records to ``topic``, each stamped
with the node this replica runs on (header ``etl-node``), and answers once Kafka acknowledged."""
import json
import os

from confluent_kafka import Producer

_producer = None


def handle(event, context):
    global _producer
    _producer = _producer or Producer({"bootstrap.servers": os.environ["KAFKA_BOOTSTRAP"],
                                       "linger.ms": 5, "allow.auto.create.topics": False})
    body = json.loads(event.body)
    node = os.environ.get("NODE_NAME", "")
    for i in range(int(body["count"])):
        _producer.produce(body["topic"], value=json.dumps({"n": i, "from": node}).encode(),
                          key=f"{context.hostname}-{i}".encode(), headers=[("etl-node", node.encode())])
    left = _producer.flush(15)
    return {"statusCode": 200 if left == 0 else 503,
            "body": json.dumps({"node": node, "produced": int(body["count"])}),
            "headers": {"Content-Type": "application/json"}}
