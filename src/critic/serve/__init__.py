"""`critic serve`: every enabled deployment behind one FastAPI app.

    POST /v1/deployments/{name}/predict   the text(s) → label and every class's probability (api.py)
    GET  /v1/deployments/{name}           what the deployment expects and answers (api.py)
    GET  /healthz                         readiness: catalog read, models loaded; no token (health.py)
    GET  /livez                           liveness: the process answers; no token (health.py)
    GET  /metrics                         Prometheus metrics, unless CRITIC_METRICS=off (health.py)
    GET  /tester                          the API tester page (pages.py)
    GET  /docs                            OpenAPI documentation, generated from schemas.py and auth.py
    GET  /, /login, POST /logout, ...     the workbench, with create_app(workbench=True) (workbench/)

The server keeps no state of its own beyond a cache of the catalog's deployments (registry.py) and
the workbench's login throttle, so any number of workers or replicas answer alike (sessions live in
the catalog). It imports no training code. The workbench's login (a session cookie) and the
prediction API's deployment tokens are separate keys: neither opens the other's door."""

from critic.serve.app import create_app, create_app_from_env
from critic.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "create_app_from_env"]
