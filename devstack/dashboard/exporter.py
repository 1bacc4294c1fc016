"""The dashboard's ``/metrics``: what it reads from Kafka and the warehouse, for Prometheus.

Functions and the gateway expose their own metrics; Kafka offsets and warehouse rows have no
exporter in the bundle, so the dashboard is one. Kafka series carry kafka_exporter's names and
labels (``kafka_topic_partition_current_offset``, ``kafka_consumergroup_lag``...), so the
Kafka dashboards people already have in Grafana read them as they are. Pure.
"""
from __future__ import annotations

from etlkit.metrics import Registry

from .scrape import Scrape, WatchList


def render(scrape: Scrape | None, watch: WatchList) -> str:
    registry = Registry()
    current = registry.gauge("kafka_topic_partition_current_offset",
                             "High watermark of a partition", ["topic", "partition"])
    oldest = registry.gauge("kafka_topic_partition_oldest_offset",
                            "Low watermark (log start) of a partition", ["topic", "partition"])
    committed = registry.gauge("kafka_consumergroup_current_offset",
                               "Committed offset of a consumer group on a partition",
                               ["consumergroup", "topic", "partition"])
    lag = registry.gauge("kafka_consumergroup_lag", "Records a consumer group has not committed",
                         ["consumergroup", "topic", "partition"])
    rows = registry.gauge("faas_etl_warehouse_rows", "Rows in a sink table", ["table"])
    up = registry.gauge("faas_etl_dashboard_source_up",
                        "1 when the last round read this public API, 0 when it failed", ["source"])
    if scrape is None:
        return registry.render()
    for topic, state in sorted(scrape.topics.items()):
        for partition, high in sorted(state.high.items()):
            low = state.low.get(partition, 0)
            current.set(high, topic=topic, partition=partition)
            oldest.set(low, topic=topic, partition=partition)
            for group in watch.groups.get(topic, ()):
                done = state.committed.get(group, {}).get(partition)
                if done is not None:
                    committed.set(done, consumergroup=group, topic=topic, partition=partition)
                lag.set(state.partition_lag(group, partition),
                        consumergroup=group, topic=topic, partition=partition)
    for table, count in sorted(scrape.warehouse.items()):
        if count is not None:
            rows.set(count, table=table)
    for source in ("gateway", "replicas", "controller", "kafka", "warehouse"):
        up.set(0 if source in scrape.errors else 1, source=source)
    return registry.render()
