import json


def handle(event, context):
    """Echo the request: the smallest handler that shows the python3-http contract."""
    return {
        "statusCode": 200,
        "body": json.dumps({"method": event.method, "path": event.path, "bytes": len(event.body)}),
        "headers": {"Content-Type": "application/json"},
    }
