"""One model on several processes: the process group that DistributedDataParallel trains in.

A group is made one of two ways, and the training code cannot tell them apart:
- `critic train --nproc N` calls `launch`: N new processes (torch.multiprocessing, spawn) meet at a
  TCPStore that this process holds on 127.0.0.1 (a free port, so no two runs collide), and run one
  function; rank 0's events come back here for the progress view;
- `torchrun ... critic train ...` (or `-m critic.cli`) starts them itself, with RANK, WORLD_SIZE,
  LOCAL_RANK, MASTER_ADDR and MASTER_PORT in the environment; the CLI calls `joined_from_env`.

Backends: gloo for CPU tensors, nccl for CUDA ones ("cpu:gloo,cuda:nccl" when torch sees a GPU, so
the small CPU collectives below work beside DDP's CUDA ones). Rank 0 is the one that writes: the
experiment's files and its catalog rows; the other ranks read files and never open the catalog.

If a rank dies, none waits for ever: `launch` stops the others (SIGTERM, taken as Ctrl-C, then
SIGKILL), torchrun's agent does the same, and every collective gives up after `TIMEOUT`."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from critic.errors import CriticError, SettingsError

__all__ = [
    "Ranks",
    "SINGLE",
    "TIMEOUT",
    "current",
    "torchrun_environment",
    "joined_from_env",
    "launch",
    "check_nproc",
    "crowding",
    "rank_device",
    "seed_rank",
    "wrap",
    "syncing",
    "all_sum",
    "lead",
    "follow",
]

# Longer than anything one rank does while the others wait for it (rank 0 saving a BERT-base
# checkpoint and its optimizer state: seconds), short enough that a group whose peer vanished
# without a launcher to notice ends within minutes rather than torch's default 30.
TIMEOUT = timedelta(minutes=10)
GRACE_S = 10.0  # after one rank fails: time for the others to record how they ended


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in its group."""

    rank: int = 0  # 0 = the one that writes checkpoints, metrics and catalog rows
    world: int = 1  # processes in the group
    local: int = 0  # place on this host: picks its GPU

    @property
    def leads(self) -> bool:
        return self.rank == 0


SINGLE = Ranks()


def current() -> Ranks:
    """This process's ranks: SINGLE outside a process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    rank = dist.get_rank()
    return Ranks(rank, dist.get_world_size(), int(os.environ.get("LOCAL_RANK", rank)))


def _backend() -> str:
    return "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"


def _leave() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# -- torchrun -------------------------------------------------------------------------------------

_TORCHRUN = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def torchrun_environment(environ=os.environ) -> int:
    """The group size torchrun (or any launcher that sets its variables) started, else 0."""
    if not all(environ.get(key) for key in _TORCHRUN):
        return 0
    try:
        return int(environ["WORLD_SIZE"])
    except ValueError:
        raise SettingsError(f"WORLD_SIZE must be a number, got {environ['WORLD_SIZE']!r}") from None


@contextmanager
def joined_from_env() -> Iterator[Ranks]:
    """Inside: this process is in the group torchrun started (when it started one of more than one
    process); left at the end, whatever happened."""
    if torchrun_environment() <= 1:
        yield SINGLE
        return
    _take_signals_as_interrupt()  # torchrun's agent stops a failed group's survivors with SIGTERM
    dist.init_process_group(_backend(), init_method="env://", timeout=TIMEOUT)
    try:
        yield current()
    finally:
        _leave()


def check_nproc(nproc: int) -> None:
    """Refuse what cannot be a group (a warning for more processes than cores is the caller's)."""
    if nproc < 1:
        raise SettingsError(f"--nproc must be at least 1, got {nproc}")
    if nproc > 1 and torchrun_environment() > 1:
        raise SettingsError(
            "--nproc under torchrun: torchrun already started the processes; drop --nproc"
        )
    if nproc > 1 and not dist.is_available():
        raise SettingsError("this torch was built without torch.distributed: --nproc needs it")


def crowding(nproc: int) -> str | None:
    """A warning when `nproc` CPU processes would share fewer cores (allowed: it works, slowly)."""
    cores = os.cpu_count() or 1
    if nproc <= cores or torch.cuda.is_available():
        return None
    return (
        f"--nproc {nproc} on {cores} CPU cores and no GPU: the processes take turns on the cores "
        "(one thread each), so the run is slower than with fewer"
    )


# -- launch: N processes from this one --------------------------------------------------------------


def launch(
    nproc: int, target: Callable, args: tuple, kwargs: dict, log: Callable, then: str = ""
) -> None:
    """Run `target(*args, **kwargs, log=...)` in `nproc` new processes, one group; rank 0's log
    events reach `log` here. Returns when all ended well; else raises the first that applies:
    rank 0's CriticError; a CriticError naming the first rank killed by a signal (with `then`: what
    to do next); KeyboardInterrupt when the ranks took Ctrl-C or SIGTERM; rank 0's other
    exception; a CriticError naming the first rank that failed. `target` must be importable by
    name (a module-level function): the processes are spawned, not forked, as CUDA requires."""
    import torch.multiprocessing as mp
    from torch.multiprocessing.spawn import ProcessException

    # the rendezvous: a store on a socket bound here to 127.0.0.1 (given a port, TCPStore listens
    # on every interface), held until the end so that no other run takes its port
    with socket.create_server(("127.0.0.1", 0)) as listener:
        store = dist.TCPStore(
            "127.0.0.1",
            listener.getsockname()[1],
            is_master=True,
            wait_for_workers=False,
            timeout=TIMEOUT,
            master_listen_fd=listener.fileno(),
        )
        listener.detach()  # the store owns the socket now and closes it when it goes
    inbox = mp.get_context("spawn").SimpleQueue()  # rank 0 → here: ("event", dict) | ("error", e)
    ranks = mp.start_processes(
        _worker,
        args=(nproc, store.port, inbox, target, args, kwargs),
        nprocs=nproc,
        join=False,
        start_method="spawn",
    )
    report = _Report(inbox, log)
    try:
        while not ranks.join(timeout=0.2, grace_period=GRACE_S):
            report.drain()
    except ProcessException as exc:
        report.drain()
        report.raise_for(exc, nproc, then)
    except KeyboardInterrupt:
        _stop(ranks)
        raise
    finally:
        report.drain()
        del store
    if report.interrupted:  # a rank took Ctrl-C and ended cleanly: the run is stopped, not done
        raise KeyboardInterrupt


class _Report:
    """What rank 0 sent back: its events (passed on as they come) and how it ended."""

    def __init__(self, inbox, log: Callable):
        self.inbox, self.log = inbox, log
        self.error: BaseException | None = None
        self.interrupted = False

    def drain(self) -> None:
        while not self.inbox.empty():
            kind, value = self.inbox.get()
            if kind == "event":
                self.log(value)
            elif kind == "error":
                self.error = value
            else:  # "interrupted"
                self.interrupted = True

    def raise_for(self, failure, nproc: int, then: str) -> None:
        """`failure`: torch's ProcessExitedException (a signal or an exit code) or
        ProcessRaisedException (a traceback) of the first rank that ended badly. A rank killed
        outright comes before rank 0's own error, which is then its consequence (a lost peer)."""
        if isinstance(self.error, CriticError):
            raise self.error
        then = f" ({then})" if then else ""
        killed = getattr(failure, "signal_name", None)
        if killed:
            raise CriticError(
                f"rank {failure.error_index} of {nproc} was killed by {killed}; "
                f"the others were stopped{then}"
            )
        if self.interrupted:
            raise KeyboardInterrupt
        if self.error is not None:
            raise self.error
        how = (
            f"ended with exit code {failure.exit_code}"
            if hasattr(failure, "exit_code")
            else f"failed: {_last_line(str(failure))}"
        )
        raise CriticError(
            f"rank {failure.error_index} of {nproc} {how}; the others were stopped{then}"
        )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


def _stop(ranks) -> None:
    """Ctrl-C here: ask every rank to stop (SIGTERM, taken as Ctrl-C), then kill what is left."""
    for process in ranks.processes:
        if process.is_alive():
            process.terminate()
    for process in ranks.processes:
        process.join(GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()


def _worker(index: int, nproc: int, port: int, inbox, target, args, kwargs) -> None:
    """One rank of `launch`: join the group, run the target, say how it ended."""
    _take_signals_as_interrupt()
    os.environ.update(
        RANK=str(index), LOCAL_RANK=str(index), WORLD_SIZE=str(nproc), LOCAL_WORLD_SIZE=str(nproc)
    )
    for setting in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"):  # all ranks are on this host:
        os.environ.setdefault(setting, _loopback())  # their connections stay on its loopback
    # the host's cores shared out, not each rank taking them all; the run's `threads` overrides
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    store = dist.TCPStore("127.0.0.1", port, is_master=False, timeout=TIMEOUT)
    dist.init_process_group(_backend(), store=store, rank=index, world_size=nproc, timeout=TIMEOUT)
    say = inbox.put if index == 0 else (lambda message: None)
    try:
        target(*args, **kwargs, log=lambda event: say(("event", event)))
    except KeyboardInterrupt:
        say(("interrupted", None))
        sys.exit(130)
    except Exception as exc:
        say(("error", exc if isinstance(exc, CriticError) else _plain(exc)))
        raise
    finally:
        _leave()


def _loopback() -> str:
    """The loopback interface's name: lo on Linux, lo0 on the BSDs and macOS."""
    names = [name for _, name in socket.if_nameindex()]
    return next((name for name in ("lo", "lo0") if name in names), "lo")


def _plain(exc: Exception) -> Exception:
    """An exception that surely pickles, with the same words (some carry unpicklable state)."""
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def _ignore(signum, frame) -> None:
    pass


def _take_signals_as_interrupt() -> None:
    """SIGTERM (a launcher stopping the group, a cancelled job) and SIGINT become one
    KeyboardInterrupt, so a run records "stopped"; later ones are ignored, so that clean-up ends."""

    def stop(signum, frame):
        # not SIG_IGN: a signal already caught but not yet handled would then raise OSError
        signal.signal(signal.SIGTERM, _ignore)
        signal.signal(signal.SIGINT, _ignore)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


# -- inside the training loop ----------------------------------------------------------------------


def rank_device(device: torch.device, ranks: Ranks) -> torch.device:
    """The device of this rank: on CUDA, the GPU of its local rank (one GPU per process)."""
    if ranks.world == 1 or device.type != "cuda":
        return device
    if device.index is not None:
        raise SettingsError(
            f"device {device} with several processes: each takes the GPU of its local rank; "
            "use --device cuda or auto"
        )
    if ranks.local >= torch.cuda.device_count():
        raise SettingsError(
            f"local rank {ranks.local} has no GPU of its own: this host has "
            f"{torch.cuda.device_count()}; start at most that many processes a host, or use --device cpu"
        )
    device = torch.device("cuda", ranks.local)
    torch.cuda.set_device(device)
    return device


def seed_rank(seed: int, ranks: Ranks, epoch: int) -> None:
    """Give ranks other than 0 their own dropout stream, from (seed, rank, epoch started at): the
    same every time the same run starts, and never rank 0's (whose state is the one saved)."""
    if not ranks.leads:
        torch.manual_seed(
            int(np.random.SeedSequence([seed, ranks.rank, epoch]).generate_state(1)[0])
        )


def wrap(model: nn.Module, ranks: Ranks, sample: Callable[[], torch.Tensor]) -> nn.Module:
    """The module to call in training: `model` itself alone, else DDP around it (its parameters
    and buffers broadcast from rank 0 here, its gradients averaged over the ranks at each synced
    backward). `sample()`: one input batch, to find out whether some parameters get no gradient."""
    if ranks.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device = next(model.parameters()).device
    return DistributedDataParallel(
        model,
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=_has_unused(model, sample()),
        # buffers are synced here once: no block keeps running statistics (BERT's position ids
        # never change), so no forward needs a collective, however many micro-batches a rank runs
        forward_sync_buffers=False,
    )


def _has_unused(model: nn.Module, sample: torch.Tensor) -> bool:
    """Whether a trainable parameter takes no part in the output (a Transformer pooled by mean or
    [CLS] leaves its pretrained pooler so): DDP must then look for such parameters at every step,
    an extra pass over the autograd graph that the other models are spared. Probed in eval mode,
    so no dropout draws from the run's random stream, and through autograd.grad, so no .grad moves."""
    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    try:
        grads = torch.autograd.grad(model(sample).float().sum(), params, allow_unused=True)
    finally:
        model.train(was_training)
    return any(g is None for g in grads)


def syncing(module: nn.Module, sync: bool):
    """Where the backward averages gradients over the ranks (sync) or only adds them up here."""
    no_sync = getattr(module, "no_sync", None)
    return nullcontext() if sync or no_sync is None else no_sync()


def all_sum(values: list[float], ranks: Ranks) -> list[float]:
    """The sums over the ranks (float64 on the CPU: gloo's side of the group)."""
    if ranks.world == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def lead(make: Callable, ranks: Ranks):
    """Rank 0: `make()`, its result sent to the other ranks (or None when it raised, so that they
    end at once instead of waiting for a plan that never comes)."""
    try:
        value = make()
    except BaseException:
        _broadcast(None, ranks)
        raise
    _broadcast(value, ranks)
    return value


def follow(ranks: Ranks):
    """The other ranks: what rank 0's `lead` made."""
    value = _broadcast(None, ranks)
    if value is None:
        raise CriticError("rank 0 could not start the run; its error says why")
    return value


def _broadcast(value, ranks: Ranks):
    if ranks.world == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
