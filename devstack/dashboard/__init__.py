"""The operator's dashboard: a live page over the bundle's public APIs.

What it reads, and nothing else: the gateway's OpenFaaS API (``/system/functions``, ``/metrics``),
each replica's Prometheus endpoint (``/_/metrics``, as a Prometheus server would scrape it), the
autoscaler's status (``GET /function/autoscaler?workflow=``), Kafka's offsets (topic high
watermarks and consumer groups' commits, as kafka_exporter reads them) and the warehouse's row
counts over SQL. Modules:

* :mod:`.scrape`: the plain data one collection round yields;
* :mod:`.sources`: the I/O that fills it (the only module with clients);
* :mod:`.view`: pure: rates, totals, scale events, decisions and chart series from the rounds;
* :mod:`.exporter`: Kafka offsets and row counts as Prometheus text, for Grafana;
* :mod:`.server`: the HTTP server (page, JSON snapshot, server-sent events, metrics);
* :mod:`.cli`: ``faas-etl dashboard`` / ``python -m devstack.dashboard``.
"""
