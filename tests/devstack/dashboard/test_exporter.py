"""The dashboard's /metrics: Kafka offsets under kafka_exporter's names, warehouse rows."""
from devstack.dashboard import exporter
from devstack.dashboard.scrape import Scrape, TopicState, WatchList
from etlkit.controller.measure import parse_prometheus

WATCH = WatchList(topics=("raw",), groups={"raw": ("g-done", "g-new")})


def test_offsets_lag_and_rows_as_prometheus_reads_them():
    scrape = Scrape(1.0, topics={"raw": TopicState("raw", {0: 10, 1: 4}, {0: 2, 1: 0},
                                                   {"g-done": {0: 7, 1: None}})},
                    warehouse={"by_country": 12, "missing": None}, errors={"kafka": "slow"})
    samples = parse_prometheus(exporter.render(scrape, WATCH))

    def value(name, **labels):
        return samples[(name, tuple(sorted((k, str(v)) for k, v in labels.items())))]

    assert value("kafka_topic_partition_current_offset", topic="raw", partition=0) == 10
    assert value("kafka_topic_partition_oldest_offset", topic="raw", partition=0) == 2
    assert value("kafka_consumergroup_current_offset", consumergroup="g-done", topic="raw", partition=0) == 7
    assert value("kafka_consumergroup_lag", consumergroup="g-done", topic="raw", partition=0) == 3
    # No commit on a partition: the whole retained partition is lag (from the low watermark).
    assert value("kafka_consumergroup_lag", consumergroup="g-done", topic="raw", partition=1) == 4
    assert value("kafka_consumergroup_lag", consumergroup="g-new", topic="raw", partition=0) == 8
    assert ("kafka_consumergroup_current_offset",
            (("consumergroup", "g-new"), ("partition", "0"), ("topic", "raw"))) not in samples
    assert value("faas_etl_warehouse_rows", table="by_country") == 12
    assert not any(labels == (("table", "missing"),) for _name, labels in samples)
    assert value("faas_etl_dashboard_source_up", source="kafka") == 0
    assert value("faas_etl_dashboard_source_up", source="gateway") == 1


def test_before_the_first_round_only_the_declarations():
    text = exporter.render(None, WATCH)
    assert "# TYPE kafka_consumergroup_lag gauge" in text and parse_prometheus(text) == {}
