"""What the workbench's pages share within one server process: the workspace and its catalog, the
settings, the login throttle and the password checks' limiter, the templates and the pages listed in the header."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import jinja2
from fastapi import Request

from critic.catalog import Catalog, open_catalog
from critic.serve.settings import ServeSettings
from critic.serve.workbench.throttle import LoginThrottle
from critic.workspace import Workspace

__all__ = ["Workbench", "get_workbench"]


@dataclass
class Workbench:
    workspace: Workspace
    settings: ServeSettings
    templates: jinja2.Environment
    nav: list[tuple[str, str]]  # (path, label) of each page in the header, in order
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # password checks at once: each scrypt takes 32 MiB and a core for ~90 ms
    logins: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(2))

    @property
    def catalog(self) -> Catalog:
        return open_catalog(self.workspace)


def get_workbench(request: Request) -> Workbench:
    return request.app.state.workbench
