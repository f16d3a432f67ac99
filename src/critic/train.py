"""The one training loop, for every neural model.

Per-model differences live in the graph (models/), the encoder (text/encoders.py) and the
optimizer factory below. The loop takes a `log` callable for progress and a `checkpoint`
callable for what to keep; it imports no tracker and writes no files itself. Device-agnostic:
tensors go to `settings.device`.

On several processes (`critic.distributed`) the same loop runs on every rank: each takes its share
of every global batch (`shard`), DistributedDataParallel averages the gradients, and the epoch's
numbers are summed over the ranks, so every rank sees the same losses and stops at the same epoch;
what to keep (`checkpoint`) and what to say (`log`) are the caller's, who gives them to rank 0."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np
import torch
from torch import nn

from critic.allocator import fix_mmap_threshold
from critic.batching import EVAL_PARTS, PART_TOKENS, micro_batches, row_costs
from critic.config import TrainSettings
from critic.distributed import SINGLE, Ranks, all_sum, syncing, wrap
from critic.models.graph import trim

__all__ = [
    "Data",
    "EpochResult",
    "fit",
    "batch_order",
    "shard",
    "make_optimizer",
    "resolve_device",
    "class_weights",
    "evaluate",
    "Evaluation",
]


class _Batcher(Protocol):
    def batch(self, encoded, rows: np.ndarray) -> torch.Tensor: ...


@dataclass
class Data:
    """Encoded inputs with their labels (class indices) and, for bucketing, token counts."""

    encoded: object  # what the encoder's encode() returned
    labels: np.ndarray  # (N,) int64
    encoder: _Batcher
    lengths: np.ndarray | None = None  # (N,) real tokens per row; None = no bucketing

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class EpochResult:
    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float | None  # None when the dataset has no validation subset
    val_accuracy: float | None
    seconds: float
    samples_per_s: float
    # (N_val, n_classes) float32 in the validation rows' order, for whoever keeps them with the
    # checkpoint (an ensemble fits its weights on them); None without validation or on ranks
    val_probs: np.ndarray | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "val_probs"}


Log = Callable[[dict], None]
Checkpoint = Callable[[EpochResult, bool], None]  # (result, is_best) after each epoch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from critic.errors import SettingsError

        raise SettingsError(
            f"device {name!r} asked for, but this torch sees no CUDA GPU; use --device cpu or auto"
        )
    return device


def make_optimizer(model: nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if s.optimizer == "adam":  # eps as Keras's (1e-7): the published numbers come from Keras
        return torch.optim.Adam(params, lr=s.learning_rate, eps=1e-7, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.learning_rate, eps=1e-7, weight_decay=s.weight_decay)
    if s.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=s.learning_rate, momentum=0.9, weight_decay=s.weight_decay
        )
    if s.optimizer == "rmsprop":  # Keras's defaults: rho 0.9, eps 1e-7
        return torch.optim.RMSprop(
            params, lr=s.learning_rate, alpha=0.9, eps=1e-7, weight_decay=s.weight_decay
        )
    return torch.optim.Adadelta(
        params, lr=s.learning_rate, rho=0.95, eps=1e-6, weight_decay=s.weight_decay
    )  # Kim 2014


def class_weights(setting, classes: list[str], labels: np.ndarray) -> torch.Tensor | None:
    """None, or (n_classes,) weights: 'balanced' = n / (k · n_c) as in scikit-learn."""
    if setting == "none":
        return None
    if setting == "balanced":
        counts = np.bincount(labels, minlength=len(classes)).astype(np.float64)
        return torch.tensor(
            len(labels) / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32
        )
    unknown = sorted(set(setting) - set(classes))
    if unknown:
        from critic.errors import SettingsError

        raise SettingsError(
            f"class_weight names {unknown}, which are not classes; classes: {classes}"
        )
    return torch.tensor([float(setting.get(c, 1.0)) for c in classes], dtype=torch.float32)


def batch_order(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The rows of each batch for one epoch: a random permutation that depends on (seed, epoch)
    only, so a resumed run sees exactly the batches an uninterrupted one would."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def shard(rows: np.ndarray, lengths: np.ndarray | None, ranks: Ranks) -> np.ndarray:
    """This rank's rows of one global batch: every `world`-th row, taken in order of length when
    bucketing, so that every rank pads to about the same length. Empty when the batch has fewer
    rows than there are ranks."""
    if ranks.world == 1:
        return rows
    if lengths is not None:
        rows = rows[np.argsort(lengths[rows], kind="stable")]
    return rows[ranks.rank :: ranks.world]


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None,
    s: TrainSettings,
    *,
    classes: list[str],
    optimizer: torch.optim.Optimizer,
    start_epoch: int = 0,
    best: float | None = None,
    stale: int = 0,
    checkpoint: Checkpoint,
    log: Log = lambda event: None,
    padding: str = "post",
    ranks: Ranks = SINGLE,
) -> list[EpochResult]:
    """Train from `start_epoch` (0 = fresh) to `s.epochs`; returns this call's epoch results.
    `best` and `stale` (epochs since the best) carry a resumed run's early-stopping state.
    Without validation data every epoch counts as the best so far (best = last), as in the Keras
    tutorials that train on all of the train set for a fixed number of epochs.
    With `ranks` of a group, `s.batch_size` is the global batch, shared out among the ranks."""
    fix_mmap_threshold()  # freed activations go back to the system (critic.allocator)
    device = next(model.parameters()).device
    weights = class_weights(s.class_weight, classes, train.labels)
    weights = weights.to(device) if weights is not None else None
    margin = getattr(model, "trim_margin", None) if s.bucket else None
    net = wrap(  # what the batches go through; `model` itself for everything else
        model,
        ranks,
        lambda: trim(train.encoder.batch(train.encoded, np.arange(1)), margin, padding).to(device),
    )
    results = []
    for epoch in range(start_epoch + 1, s.epochs + 1):
        batches = batch_order(len(train), s.batch_size, s.seed, epoch)
        log({"event": "epoch_start", "epoch": epoch, "epochs": s.epochs, "batches": len(batches)})
        start = time.perf_counter()
        steps = _Steps(s, len(batches), epoch)
        train_loss, train_acc = _train_epoch(
            model,
            net,
            train,
            batches,
            optimizer,
            weights,
            margin,
            padding,
            device,
            log,
            steps,
            ranks,
        )
        scored = (
            evaluate(model, val, device, margin=margin, padding=padding, ranks=ranks)
            if val
            else Evaluation(None, None, None)
        )
        val_loss, val_acc = scored.loss, scored.accuracy
        seconds = time.perf_counter() - start
        result = EpochResult(
            epoch,
            train_loss,
            train_acc,
            val_loss,
            val_acc,
            seconds,
            len(train) / seconds,
            scored.probs,
        )
        metric = (
            float("-inf")
            if val is None
            else val_loss
            if s.checkpoint_metric == "val_loss"
            else -val_acc
        )
        is_best = best is None or metric <= best if val is None else best is None or metric < best
        best = metric if is_best else best
        stale = 0 if is_best else stale + 1
        checkpoint(result, is_best)
        log({"event": "epoch_end", "best": is_best, **result.as_dict()})
        results.append(result)
        if s.early_stopping and stale >= s.early_stopping:
            log({"event": "early_stop", "epoch": epoch, "patience": s.early_stopping})
            break
    return results


class _Steps:
    """Optimizer steps of one epoch and the learning rate of each: linear warmup over the first
    `warmup` share of all steps, then constant or linear decay to 0. The step number comes from
    (epoch, batch) alone, so a resumed run continues the schedule exactly."""

    def __init__(self, s: TrainSettings, batches: int, epoch: int):
        self.s, self.batches = s, batches
        self.per_epoch = -(-batches // s.accumulation)
        self.first = (epoch - 1) * self.per_epoch
        self.total = self.per_epoch * s.epochs
        self.warmup = int(s.warmup * self.total)

    def is_step(self, batch: int) -> bool:
        """After 1-based `batch`: the end of an accumulation group or of the epoch."""
        return batch % self.s.accumulation == 0 or batch == self.batches

    def group_size(self, batch: int) -> int:
        """Batches in the accumulation group of 1-based `batch` (the last group may be short)."""
        first = (batch - 1) // self.s.accumulation * self.s.accumulation
        return min(self.s.accumulation, self.batches - first)

    def learning_rate(self, batch: int) -> float:
        step = self.first + (batch - 1) // self.s.accumulation  # 0-based over the whole run
        if step < self.warmup:
            return self.s.learning_rate * (step + 1) / self.warmup
        if self.s.schedule == "linear":
            return self.s.learning_rate * max(
                0.0, (self.total - step) / max(1, self.total - self.warmup)
            )
        return self.s.learning_rate


def _train_epoch(
    model,
    net,
    data: Data,
    batches,
    optimizer,
    weights,
    margin,
    padding,
    device,
    log,
    steps: _Steps,
    ranks: Ranks,
) -> tuple[float, float]:
    """One pass over `batches`; `net` is `model` or DDP around it. Returns the epoch's mean loss
    and accuracy over all its rows (summed over the ranks)."""
    model.train()
    total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    constrain = getattr(model, "constrain", None)
    lengths = data.lengths if margin is not None else None
    s = steps.s
    cost = row_costs(data.encoded, data.lengths, margin)
    tokens = s.part_tokens or getattr(model, "part_tokens", PART_TOKENS)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=s.mixed_precision)
    optimizer.zero_grad(set_to_none=True)
    for i, rows in enumerate(batches, start=1):
        labels = torch.from_numpy(data.labels[rows])
        # the batch's loss is the (weighted) mean over all its rows, whatever parts or ranks it is
        # run in; with accumulation, the mean of the group's batch means
        denominator = (
            float(weights[labels.to(device)].sum()) if weights is not None else float(len(rows))
        )
        denominator *= steps.group_size(i)
        mine = shard(rows, lengths, ranks)
        # fewer rows than ranks: this rank runs one row at weight 0, as DDP needs its backward
        idle = len(mine) == 0
        parts = micro_batches(rows[:1] if idle else mine, cost, tokens)
        batch_loss = 0.0
        for j, part in enumerate(parts, start=1):
            x = trim(data.encoder.batch(data.encoded, part), margin, padding).to(device)
            y = torch.from_numpy(data.labels[part]).to(device)
            # gradients are averaged over the ranks once per optimizer step: at its last backward
            with syncing(net, steps.is_step(i) and j == len(parts)):
                with autocast:
                    logits = net(x).float()  # (b, n_classes)
                loss = (
                    nn.functional.cross_entropy(logits, y, weight=weights, reduction="sum")
                    / denominator
                )
                if idle:
                    loss = loss * 0.0
                # DDP averages over the ranks; the batch's gradient is their sum
                (loss * ranks.world if ranks.world > 1 else loss).backward()
            batch_loss += loss.item()
            correct += 0 if idle else (logits.argmax(1) == y).sum().item()
        seen += len(mine)
        batch_loss *= steps.group_size(i)  # report per batch (this rank's share of it)
        if steps.is_step(i):
            for group in optimizer.param_groups:
                group["lr"] = steps.learning_rate(i)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if constrain is not None:
                constrain()
        total_loss += batch_loss * len(rows)
        log(  # on several ranks: rank 0's rows, an estimate of the whole (summed at the end)
            {
                "event": "batch",
                "batch": i,
                "batches": len(batches),
                "loss": total_loss / max(1, seen),
                "accuracy": correct / max(1, seen),
                "samples_per_s": ranks.world * seen / (time.perf_counter() - start),
            }
        )
    total_loss, correct, seen = all_sum([total_loss, correct, seen], ranks)
    return total_loss / seen, correct / seen


@dataclass(frozen=True)
class Evaluation:
    loss: float | None  # mean cross-entropy
    accuracy: float | None
    probs: np.ndarray | None  # (N, n_classes) float32 in the data's row order; None on ranks


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    data: Data,
    device: torch.device,
    *,
    batch_size: int = 512,
    margin: int | None = None,
    padding: str = "post",
    ranks: Ranks = SINGLE,
) -> Evaluation:
    """Mean cross-entropy, accuracy and the probabilities (no class weights, dropout off); on
    several ranks, each scores every `world`-th row and the sums are shared, so every rank gets
    the same numbers (and no probabilities: they would need gathering).
    Batches of at most `batch_size` rows and EVAL_PARTS × the model's part tokens: nothing is
    kept for a backward pass, so a batch may be larger than a training part, but a 512-review
    batch of MiniLM at length 256 holds 1.6 GB of attention scores in one layer."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    lengths = data.lengths if margin is not None else None
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(len(data))
    order = order[ranks.rank :: ranks.world]
    tokens = EVAL_PARTS * getattr(model, "part_tokens", PART_TOKENS)
    cost = row_costs(data.encoded, data.lengths, margin)
    scored: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, their probabilities)
    for i in range(0, len(order), batch_size):
        for rows in micro_batches(order[i : i + batch_size], cost, tokens):
            x = trim(data.encoder.batch(data.encoded, rows), margin, padding).to(device)
            y = torch.from_numpy(data.labels[rows]).to(device)
            logits = model(x).float()
            total += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            scored.append((rows, logits.softmax(1).cpu().numpy()))
    model.train(was_training)
    total, correct = all_sum([total, correct], ranks)
    n = max(1, len(data))
    return Evaluation(total / n, correct / n, _in_order(scored, len(data), ranks))


def _in_order(scored: list[tuple[np.ndarray, np.ndarray]], n: int, ranks: Ranks):
    """(n, K) probabilities put back in the data's row order; None when this rank saw a share."""
    if ranks.world > 1 or not scored:
        return None
    probs = np.empty((n, scored[0][1].shape[1]), np.float32)
    for rows, p in scored:
        probs[rows] = p
    return probs
