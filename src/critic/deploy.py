"""Deployments: a named (experiment, checkpoint) that `critic serve` answers for, with its own token.

A token is 32 random bytes from `secrets` (256 bits) in URL-safe base64 behind a `critic_` prefix.
It is shown once, when created or rotated; the catalog keeps only its SHA-256 (a token is random
and long, so a fast hash is enough: there is nothing to guess). `token_matches` compares digests
with `hmac.compare_digest`, in constant time.

A deployment's runtime says what runs its model: `torch` (PyTorch, the default), `torch-bf16`
(PyTorch with its matrix products in bfloat16: about twice as fast on a CPU with AMX or
AVX512-BF16, slower on one without), or ONNX Runtime on the checkpoint's export (`onnx`;
`onnx-int8` for a transformer quantized to int8). The export is
made when the deployment is created or switched, so a model that cannot export fails then and not
in the server, and kept in <experiment>/exports/ beside what `critic export` writes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from critic.catalog import DeploymentRecord, open_catalog
from critic.errors import DeploymentNotFound, SettingsError
from critic.experiments.store import get_experiment
from critic.names import validate_name
from critic.workspace import Workspace

__all__ = [
    "Created",
    "create_deployment",
    "list_deployments",
    "get_deployment",
    "set_enabled",
    "rotate_token",
    "set_runtime",
    "runtime_quantization",
    "runtime_precision",
    "runtime_note",
    "RUNTIMES",
    "TORCH_RUNTIMES",
    "delete_deployment",
    "hash_token",
    "token_matches",
    "TOKEN_PREFIX",
    "PREDICT_PATH",
]

TOKEN_PREFIX = "critic_"
RUNTIMES = ("torch", "torch-bf16", "onnx", "onnx-int8")
TORCH_RUNTIMES = (
    "torch",
    "torch-bf16",
)  # a PyTorch Predictor; the others ONNX Runtime on an export
PREDICT_PATH = (
    "/v1/deployments/{name}/predict"  # stable: documented in the README and printed by the CLI
)


@dataclass(frozen=True)
class Created:
    deployment: DeploymentRecord
    token: str  # in clear: this is the only time it exists outside the caller's hands


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), token_hash)


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_deployment(
    experiment: str,
    *,
    checkpoint: str = "best",
    name: str | None = None,
    enabled: bool = True,
    runtime: str = "torch",
    workspace: Workspace | None = None,
) -> Created:
    workspace = workspace or Workspace.from_env()
    run = get_experiment(experiment, workspace)
    run.checkpoint(checkpoint)  # exists, or a clear error
    name = validate_name(f"{experiment}-{checkpoint}" if name is None else name, "deployment name")
    _prepare_runtime(run.name, checkpoint, runtime, workspace)
    from critic.data.store import (
        load_version,  # here, not at the top: the server imports this module, not the data code
    )

    version = load_version(run.record.dataset, workspace)
    input_name = version.manifest.get("columns", {}).get("text") or "text"
    token = _new_token()
    now = _now()
    record = DeploymentRecord(
        name, run.name, checkpoint, input_name, enabled, hash_token(token), now, now, runtime
    )
    open_catalog(workspace.ensure()).add_deployment(record)
    return Created(record, token)


def list_deployments(workspace: Workspace | None = None) -> list[DeploymentRecord]:
    workspace = workspace or Workspace.from_env()
    return open_catalog(workspace).deployments()


def get_deployment(name: str, workspace: Workspace | None = None) -> DeploymentRecord:
    workspace = workspace or Workspace.from_env()
    validate_name(name, "deployment name")
    found = open_catalog(workspace).deployments(name)
    if not found:
        raise DeploymentNotFound(f"no deployment {name!r}; see `critic deploy list`")
    return found[0]


def set_enabled(name: str, enabled: bool, workspace: Workspace | None = None) -> DeploymentRecord:
    workspace = workspace or Workspace.from_env()
    get_deployment(name, workspace)
    open_catalog(workspace).update_deployment(name, _now(), enabled=enabled)
    return get_deployment(name, workspace)


def rotate_token(name: str, workspace: Workspace | None = None) -> Created:
    """A new token; the old one stops working at once (a running server re-reads the catalog)."""
    workspace = workspace or Workspace.from_env()
    get_deployment(name, workspace)
    token = _new_token()
    open_catalog(workspace).update_deployment(name, _now(), token_hash=hash_token(token))
    return Created(get_deployment(name, workspace), token)


def set_runtime(name: str, runtime: str, workspace: Workspace | None = None) -> DeploymentRecord:
    """Run the deployment's model on `runtime` from now on (a running server loads it within its
    refresh interval; answers keep coming from the old runtime until then)."""
    workspace = workspace or Workspace.from_env()
    record = get_deployment(name, workspace)
    _prepare_runtime(record.experiment, record.checkpoint, runtime, workspace)
    open_catalog(workspace).update_deployment(name, _now(), runtime=runtime)
    return get_deployment(name, workspace)


def runtime_quantization(runtime: str) -> str | None:
    """onnx-int8 → "int8"; onnx, torch, torch-bf16 → None."""
    return "int8" if runtime == "onnx-int8" else None


def runtime_precision(runtime: str) -> str:
    """What a PyTorch runtime computes in (critic.predictor.PRECISIONS): torch-bf16 → bf16."""
    return "bf16" if runtime == "torch-bf16" else "fp32"


def runtime_note(runtime: str) -> str | None:
    """A warning for a runtime this machine runs slowly: bf16 without CPU instructions for it."""
    if runtime != "torch-bf16":
        return None
    import torch

    if torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported():
        return None
    return (
        "this CPU has no bfloat16 instructions (AMX or AVX512-BF16): torch-bf16 runs slower "
        "than torch here; it pays on the machine that serves only if that one has them"
    )


def _prepare_runtime(experiment: str, checkpoint: str, runtime: str, workspace: Workspace) -> None:
    """A runtime critic knows; for ONNX Runtime, the checkpoint exported (or its export kept)."""
    if runtime not in RUNTIMES:
        raise SettingsError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime in TORCH_RUNTIMES:
        return
    from critic.export import ensure_export, export_folder

    run = get_experiment(experiment, workspace)
    quantize = runtime_quantization(runtime)
    folder = run.checkpoint(checkpoint)
    try:
        ensure_export(folder, export_folder(run.path, checkpoint, quantize), quantize=quantize)
    except SettingsError as exc:
        if quantize and "transformer" in str(exc):
            raise SettingsError(
                f"--runtime {runtime} quantizes transformer models (BERT-style presets) only; "
                f"deploy {experiment!r} with --runtime onnx or torch"
            ) from exc
        raise


def delete_deployment(name: str, workspace: Workspace | None = None) -> None:
    workspace = workspace or Workspace.from_env()
    get_deployment(name, workspace)
    if not open_catalog(workspace).delete_deployment(name):
        raise SettingsError(f"deployment {name!r} was deleted by someone else meanwhile")
