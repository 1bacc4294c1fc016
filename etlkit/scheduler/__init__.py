"""The elastic scheduler core: pure decisions, no I/O.

Forecast a source's production rate, derive the minimum pipeline velocity, size every
operation, place new services on nodes, and match upstream to downstream services at minimum
network cost. The controller calls :func:`decide` once per tick (gather -> decide -> apply).
"""
