"""The local OpenFaaS-compatible gateway: same HTTP API, replicas are real worker processes."""
