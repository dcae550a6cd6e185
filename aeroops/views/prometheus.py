"""The freshness check as Prometheus metrics, in the text exposition format that
node_exporter's textfile collector reads.

Rendered by the ``prometheus_client`` library (its escaping of label values and its number
formats are the format's own rules; a hand-written renderer would restate them), from a
registry of our own so nothing of the process's default metrics leaks in.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aeroops.core.newest_good import Freshness

PREFIX = "aeroops_backup"


class _FreshnessCollector(Collector):
    def __init__(self, freshness: Freshness, folder: str) -> None:
        self._freshness = freshness
        self._folder = folder

    def collect(self) -> Iterator[Metric]:
        f = self._freshness
        labels = ["folder"]

        def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
            metric = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)
            metric.add_metric([self._folder], value)
            return metric

        newest = None if f.newest is None else f.newest.created_at
        yield gauge(
            "newest_good_timestamp_seconds",
            "Creation time of the newest archive that verifies clean (0: there is none).",
            0 if newest is None else newest.timestamp(),
        )
        age = f.age
        if age is not None:
            yield gauge(
                "newest_good_age_seconds", "Age of the newest archive that verifies clean.", age.total_seconds()
            )
        yield gauge(
            "max_age_seconds", "The age limit checked against.", (f.now - f.max_age.before(f.now)).total_seconds()
        )
        yield gauge("fresh", "1 when the newest good archive is younger than the limit, else 0.", int(f.fresh))
        yield gauge("check_timestamp_seconds", "When the check ran.", f.now.timestamp())
        yield gauge("bytes", "Total size of the *.tar files in the folder.", f.total_bytes())
        archives = GaugeMetricFamily(
            f"{PREFIX}_archives",
            "*.tar files in the folder by verdict (archives older than the newest good one are not verified: "
            "unverified).",
            labels=[*labels, "verdict"],
        )
        for status, count in f.counts().items():
            archives.add_metric([self._folder, str(status)], count)
        yield archives


def render_metrics(freshness: Freshness, folder: str) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FreshnessCollector(freshness, folder))
    return generate_latest(registry)
