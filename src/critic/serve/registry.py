"""The deployments a server answers for: the catalog's rows, cached and re-read at most every
`refresh_seconds` (so enable, disable and rotate-token from the CLI reach every worker without a
restart), and one loaded Predictor per (experiment, checkpoint), loaded at start-up or once when a
deployment appears, never per request."""

from __future__ import annotations

import threading
import time

import anyio

from critic.catalog import Catalog, DeploymentRecord
from critic.errors import ApiError, CriticError
from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.serve.settings import ServeSettings
from critic.workspace import Workspace

__all__ = ["Registry"]


class Registry:
    def __init__(self, workspace: Workspace, settings: ServeSettings):
        self.workspace, self.settings = workspace, settings
        self.catalog = Catalog(workspace.catalog_path)
        self.deployments: dict[str, DeploymentRecord] = {}
        self.owners: dict[
            str, str
        ] = {}  # token hash → deployment name (to answer 403 rather than 401)
        self.predictors: dict[tuple[str, str], Predictor] = {}
        self.broken: dict[tuple[str, str], str] = {}  # a checkpoint that failed to load → why
        self.loaded_at = float("-inf")
        self.lock = threading.Lock()
        self.limiter = anyio.CapacityLimiter(
            1
        )  # predictions at once in this worker (torch uses its threads)

    def refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.loaded_at < self.settings.refresh_seconds:
            return
        with self.lock:
            records = self.catalog.deployments()
            self.deployments = {r.name: r for r in records}
            self.owners = {r.token_hash: r.name for r in records}
            for r in records:
                if r.enabled:
                    self._load(r)
            self.loaded_at = time.monotonic()

    def _load(self, record: DeploymentRecord) -> None:
        key = (record.experiment, record.checkpoint)
        if key in self.predictors or key in self.broken:
            return
        try:
            folder = get_experiment(record.experiment, self.workspace).checkpoint(record.checkpoint)
            self.predictors[key] = Predictor.from_checkpoint(folder)
        except (CriticError, OSError, ValueError, KeyError) as exc:
            self.broken[key] = str(exc)

    def enabled(self, name: str) -> DeploymentRecord:
        """The deployment `name`, or 404 when it does not exist or is disabled."""
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

    def predictor(self, record: DeploymentRecord) -> Predictor:
        key = (record.experiment, record.checkpoint)
        if key not in self.predictors:
            raise ApiError(
                404,
                "model_unavailable",
                f"deployment {record.name!r} cannot load its model "
                f"({self.broken.get(key, 'not loaded')}); redeploy a checkpoint that exists",
            )
        return self.predictors[key]

    def enabled_count(self) -> int:
        self.refresh()
        return sum(1 for r in self.deployments.values() if r.enabled)
