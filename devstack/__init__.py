"""devstack: the embedded default of the bundle on one machine.

A real Kafka-protocol broker (Tansu), a local OpenFaaS-compatible gateway serving the functions
from their shrinkwrapped build folders, the runner that executes the committed Argo Events
manifests, and the CLI. None of this goes into a function image.
"""
