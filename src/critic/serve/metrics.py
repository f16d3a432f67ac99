"""Prometheus metrics of the prediction API (served at GET /metrics by health.py).

The same measurement as the workbench's request figures (`RequestStats`, fed by `counted` in
api.py), seen by a scraper: requests per deployment and status class, and a latency histogram of
the answered ones. Each app has its own `CollectorRegistry` (never the process-wide one), and only
deployments that exist become labels, so made-up names in URLs cannot grow the memory. With
`--workers N` each worker process counts its own requests: a scrape reads the worker that answers it.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)

__all__ = ["ServeMetrics", "BUCKETS", "CONTENT_TYPE_LATEST"]

# seconds: a linear model answers in about a millisecond, a BERT batch on CPU in seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServeMetrics:
    """One app's Prometheus collectors. `record` and `forget` are called under `RequestStats`'s lock,
    which also guards `_seen`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "critic_prediction_requests",
            "Prediction requests to a deployment that exists, by status class (2xx, 4xx, 5xx)",
            ["deployment", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "critic_prediction_seconds",
            "Seconds to answer a prediction request (the answered ones), authentication included",
            ["deployment"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)  # this worker's memory, CPU time, open files
        self._seen: dict[str, set[str]] = {}  # deployment → the status classes it has series for

    def record(self, name: str, seconds: float, status: int) -> None:
        kind = f"{status // 100}xx"
        self._seen.setdefault(name, set()).add(kind)
        self.requests.labels(name, kind).inc()
        if status < 400:
            self.seconds.labels(name).observe(seconds)

    def forget(self, name: str) -> None:
        """Drop a deleted deployment's series."""
        kinds = self._seen.pop(name, set())
        for kind in kinds:
            self.requests.remove(name, kind)
        if kinds & {"1xx", "2xx", "3xx"}:  # answered: it has a histogram
            self.seconds.remove(name)

    def exposition(self) -> bytes:
        """The text format of every collector (Content-Type: CONTENT_TYPE_LATEST)."""
        return generate_latest(self.registry)
