"""The deployments a server answers for: the catalog's rows, cached and re-read at most every
`refresh_seconds` (so enable, disable and rotate-token from the CLI reach every worker without a
restart), and one loaded predictor per (experiment, checkpoint, runtime), loaded at start-up or once
when a deployment appears, never per request: a `Predictor` for torch and torch-bf16, an
`OnnxPredictor` on the checkpoint's export for onnx and onnx-int8. Explanations need gradients, so
a deployment on ONNX Runtime explains through a PyTorch `Predictor` loaded at its first explain
request (`explainer`). `RequestStats` counts each deployment's prediction requests
since this process started (the workbench's deployment page shows them, and `ServeMetrics` passes
them on to Prometheus). `unready` says why this replica cannot answer (GET /healthz)."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio

from critic.catalog import DeploymentRecord, open_catalog
from critic.deploy import TORCH_RUNTIMES, runtime_precision, runtime_quantization
from critic.errors import ApiError, CriticError
from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.serve.metrics import ServeMetrics
from critic.serve.settings import ServeSettings
from critic.workspace import Workspace

if TYPE_CHECKING:
    from critic.export import OnnxPredictor

__all__ = ["Registry", "RequestStats", "model_key"]

log = logging.getLogger("critic.serve")


class Registry:
    def __init__(self, workspace: Workspace, settings: ServeSettings):
        self.workspace, self.settings = workspace, settings
        self.catalog = open_catalog(workspace)
        self.deployments: dict[str, DeploymentRecord] = {}
        self.owners: dict[
            str, str
        ] = {}  # token hash → deployment name (to answer 403 rather than 401)
        # (experiment, checkpoint, runtime) → its predictor, or why it failed to load
        self.predictors: dict[tuple[str, str, str], Predictor | OnnxPredictor] = {}
        self.broken: dict[tuple[str, str, str], str] = {}
        self.explainers: set[tuple[str, str, str]] = set()  # PyTorch models loaded to explain
        self.loaded_at = float("-inf")
        self.lock = threading.Lock()
        self.limiter = anyio.CapacityLimiter(
            1
        )  # predictions at once in this worker (torch uses its threads)
        self.stats = RequestStats(ServeMetrics() if settings.metrics else None)

    def refresh_due(self) -> bool:
        return time.monotonic() - self.loaded_at >= self.settings.refresh_seconds

    def refresh(self, force: bool = False) -> None:
        if not force and not self.refresh_due():
            return
        with self.lock:
            records = self.catalog.deployments()
            self.deployments = {r.name: r for r in records}
            self.owners = {r.token_hash: r.name for r in records}
            for r in records:
                if r.enabled:
                    self._load(r)
            self._forget_unused(records)
            self.loaded_at = time.monotonic()

    def _forget_unused(self, records: list[DeploymentRecord]) -> None:
        """Drop the models no enabled deployment runs any more (a runtime switched, a deployment
        disabled or deleted), and what failed to load for them, so memory follows the catalog;
        an ONNX deployment's PyTorch explainer stays while the deployment does. A request that
        holds a dropped model finishes with it."""
        used = {model_key(r) for r in records if r.enabled}
        used |= self.explainers & {model_key(r, "torch") for r in records if r.enabled}
        for key in [k for k in self.predictors if k not in used]:
            del self.predictors[key]
        self.explainers &= used
        for key in [k for k in self.broken if k not in used]:
            del self.broken[key]

    def _load(self, record: DeploymentRecord, runtime: str | None = None) -> None:
        key = model_key(record, runtime)
        if key in self.predictors or key in self.broken:
            return
        try:
            self.predictors[key] = self._open(record.experiment, record.checkpoint, key[2])
        except (CriticError, OSError, ValueError, KeyError) as exc:
            self.broken[key] = str(exc)
            log.warning("deployment %r cannot load its model (%s): %s", record.name, key[2], exc)

    def _open(self, experiment: str, checkpoint: str, runtime: str) -> Predictor | OnnxPredictor:
        run = get_experiment(experiment, self.workspace)
        folder = run.checkpoint(checkpoint)
        if runtime in TORCH_RUNTIMES:
            return Predictor.from_checkpoint(folder, precision=runtime_precision(runtime))
        from critic.export import OnnxPredictor, ensure_export, export_folder

        quantize = runtime_quantization(runtime)
        # exported when the deployment was made; again only if the checkpoint changed since
        out = ensure_export(
            folder, export_folder(run.path, checkpoint, quantize), quantize=quantize
        )
        return OnnxPredictor(out)

    def enabled(self, name: str, refresh: bool = True) -> DeploymentRecord:
        """The deployment `name`, or 404 when it does not exist or is disabled; the catalog read
        again first when due (unless the caller just did)."""
        if refresh:
            self.refresh()
        record = self.deployments.get(name)
        if record is None or not record.enabled:
            state = (
                "is disabled: enable it with `critic deploy enable " + name + "`"
                if record
                else "does not exist"
            )
            raise ApiError(
                404,
                "deployment_not_found",
                f"deployment {name[:100]!r} {state}; see `critic deploy list`",
            )
        return record

    def predictor(self, record: DeploymentRecord) -> Predictor | OnnxPredictor:
        key = model_key(record)
        if key not in self.predictors:
            raise ApiError(
                404,
                "model_unavailable",
                f"deployment {record.name!r} cannot load its model "
                f"({self.broken.get(key, 'not loaded')}); redeploy a checkpoint that exists",
            )
        return self.predictors[key]

    def explainer(self, record: DeploymentRecord) -> Predictor:
        """The deployment's model in PyTorch, for explanations: its predictor when it runs on
        torch or torch-bf16 (which explains in fp32 itself), else a Predictor of the same
        checkpoint, loaded once, at the first explain call."""
        if record.runtime not in TORCH_RUNTIMES:
            key = model_key(record, "torch")
            with self.lock:
                self._load(record, "torch")
                self.explainers.add(key)
            if key not in self.predictors:
                raise ApiError(
                    404,
                    "model_unavailable",
                    f"deployment {record.name!r} cannot load its PyTorch model to explain "
                    f"({self.broken.get(key)}); ask without explain",
                )
            return self.predictors[key]
        return self.predictor(record)

    def enabled_count(self) -> int:
        self.refresh()
        return sum(1 for r in self.deployments.values() if r.enabled)

    def unready(self) -> list[str]:
        """Why this replica cannot answer every enabled deployment now (empty: it can): the catalog
        cannot be read, or a model is not loaded. Reads the catalog (the deployments' table)."""
        try:
            self.refresh(force=True)
        except Exception as exc:  # noqa: BLE001 - whatever the catalog's driver raises: not ready
            log.warning("the catalog cannot be read: %s: %s", type(exc).__name__, exc)
            return ["catalog_unreachable: the catalog cannot be read (the server log says why)"]
        return [
            f"model_unavailable: deployment {r.name!r} has no model loaded (the server log says why)"
            for r in self.deployments.values()
            if r.enabled and model_key(r) not in self.predictors
        ]


def model_key(record: DeploymentRecord, runtime: str | None = None) -> tuple[str, str, str]:
    """(experiment, checkpoint, runtime): deployments with the same key share one loaded model."""
    return record.experiment, record.checkpoint, runtime or record.runtime


class RequestStats:
    """Prediction requests per deployment since this process started: how many, how many were
    refused or failed, and the latencies of the last WINDOW answered ones (for the median and p95).
    Memory stays bounded: one small record per deployment name that exists, each a fixed window.
    Thread-safe (requests are counted from the event loop, read by the workbench's pages). With
    `metrics`, each request is passed on to it too (the same measurement, for Prometheus)."""

    WINDOW = 1000  # latencies kept per deployment, the newest

    def __init__(self, metrics: ServeMetrics | None = None) -> None:
        self.metrics = metrics
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}  # name → [requests, errors]
        self._latencies: dict[str, deque[float]] = {}  # name → seconds of the last answered ones

    def record(self, name: str, seconds: float, ok: bool, status: int | None = None) -> None:
        """One request to `name`: answered (`ok`) or refused, in `seconds`; `status` is the HTTP
        status it got (by default 200 when ok, else 500), for the metrics."""
        with self._lock:
            if self.metrics is not None:
                self.metrics.record(name, seconds, status or (200 if ok else 500))
            counts = self._counts.setdefault(name, [0, 0])
            counts[0] += 1
            if ok:
                self._latencies.setdefault(name, deque(maxlen=self.WINDOW)).append(seconds)
            else:
                counts[1] += 1

    def forget(self, name: str) -> None:
        with self._lock:
            if self.metrics is not None:
                self.metrics.forget(name)
            self._counts.pop(name, None)
            self._latencies.pop(name, None)

    def summary(self, name: str) -> dict:
        """{requests, errors, answered, median_ms, p95_ms (None before any answer), window, since}."""
        with self._lock:
            requests, errors = self._counts.get(name, (0, 0))
            latencies = sorted(self._latencies.get(name, ()))
        return {
            "requests": requests,
            "errors": errors,
            "answered": requests - errors,
            "median_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p95_ms": 1000 * _nearest_rank(latencies, 0.95) if latencies else None,
            "window": len(latencies),
            "since": self.started,
        }


def _nearest_rank(ordered: list[float], share: float) -> float:
    """The `share` percentile of sorted values by the nearest-rank method (a value that occurred)."""
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share), at least 1
    return ordered[int(rank) - 1]
