"""`critic serve`: every enabled deployment behind one FastAPI app.

    POST /v1/deployments/{name}/predict   the text(s) → label and every class's probability (api.py)
    GET  /v1/deployments/{name}           what the deployment expects and answers (api.py)
    GET  /healthz                         liveness, no token (health.py)
    GET  /tester                          the API tester page (pages.py)
    GET  /docs                            OpenAPI documentation, generated from schemas.py and auth.py

The server keeps no state of its own beyond a cache of the catalog's deployments (registry.py), so
any number of workers or replicas answer alike. It imports no training code."""

from critic.serve.app import create_app, create_app_from_env
from critic.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "create_app_from_env"]
