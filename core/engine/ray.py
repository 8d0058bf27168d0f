"""The Ray engine: Ray Data feeds the units to an actor pool running the mapper.

Each actor loads its encoder once (one GPU per actor when the cluster has GPUs) and turns
whole units (shards) into vectors; the driver writes each finished unit into the vector
cache as it arrives, so a killed driver or worker costs at most the units in flight and
the next run skips every unit already cached. Workers read the shards themselves, so
shards must be reachable from every node (a shared file system; URLs are refused).

``address``: None starts a private local Ray; ``auto`` joins the cluster this machine
belongs to (``ray start --head`` / ``ray start --address``); ``ray://host:10001`` connects a
remote client, shipping this project's code to the workers.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from .. import config
from .units import Mapper, UnitResult

ROOT = Path(__file__).resolve().parents[2]
#: Environment the workers need to resolve encoders and weights the way the driver does.
FORWARDED_ENV = ("UPAIR_CACHE", "UPAIR_ENCODERS", "UPAIR_SHARED", "UPAIR_DEVICE", "HF_HUB_OFFLINE")


def worker_env() -> dict[str, str]:
    """Environment variables passed to every worker (project on PYTHONPATH, cache, encoders)."""
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    env.setdefault("UPAIR_CACHE", str(config.cache_dir()))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


def runtime_env(address: str | None) -> dict:
    """Ray runtime environment: env vars always; the code itself for ``ray://`` clients."""
    env: dict = {"env_vars": worker_env()}
    if address and address.startswith("ray://"):
        env["working_dir"] = str(ROOT)
        env["excludes"] = ["cache/", ".venv/", ".git/", "tests/screenshots/", "*.pt", "*.npy", "*.tar"]
    return env


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Initialise Ray once per process: a private local instance, or ``address``."""
    import ray

    if ray.is_initialized():
        return
    kwargs = dict(runtime_env=runtime_env(address), include_dashboard=False, log_to_driver=False,
                  configure_logging=False)
    if address:
        ray.init(address=address, **kwargs)
    else:
        from .reaper import start

        start()  # a private Ray's agents are stopped when this process stops, even by SIGKILL
        ray.init(num_cpus=num_cpus or config.default_threads(), **kwargs)


class RayMapper:
    """The actor: one encoder loaded at construction, then whole units per call."""

    def __init__(self, spec: str, env: dict[str, str], jobs: list):
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        self.mapper = Mapper(spec)
        self.jobs = jobs

    def __call__(self, batch: dict) -> dict:
        rows = []
        for i in batch["job"]:
            unit, wanted = self.jobs[int(i)]
            rows.append(self.mapper(unit, wanted).to_row())
        return {k: [r[k] for r in rows] for k in ("unit", "keys", "vectors", "problems")}


def pool_size(workers: int | None) -> tuple[int, float]:
    """(actors, GPUs per actor): one actor per GPU when there are GPUs, else per CPU."""
    import ray

    res = ray.cluster_resources()
    gpus = int(res.get("GPU", 0))
    if gpus:
        return max(1, min(workers or gpus, gpus)), 1.0
    return max(1, workers or int(res.get("CPU", 1))), 0.0


def distribute(jobs: list, spec: str, options=None) -> Iterator[UnitResult]:
    """Yield each unit's vectors as the actor pool finishes it (in completion order)."""
    try:
        yield from _distribute(jobs, spec, options)
    except Exception as exc:  # noqa: BLE001 - Ray surfaces a dead cluster as many error types
        if not type(exc).__module__.startswith("ray"):
            raise
        raise RuntimeError(cluster_failure(exc)) from None


def _distribute(jobs: list, spec: str, options=None) -> Iterator[UnitResult]:
    import ray

    connect(getattr(options, "address", None), getattr(options, "workers", None))
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    actors, gpus = pool_size(getattr(options, "workers", None))
    # a shard unit travels as its name and the keys it still lacks (the actor streams the shard)
    # the job table reaches each actor once (Ray ships constructor arguments); rows carry indices
    table = [(replace(unit, figures=()) if unit.shard else unit, wanted) for unit, wanted in jobs]
    items = [{"job": i} for i in range(len(table))]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(RayMapper, fn_constructor_kwargs={"spec": spec, "env": worker_env(), "jobs": table},
                        batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))),
                        num_cpus=1, num_gpus=gpus)
    for row in ds.iter_rows():
        yield UnitResult.from_row(row)


def cluster_failure(exc: BaseException) -> str:
    """One line for a Ray failure (an agent, worker or the cluster died): what, and what to do."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")[:200]
    return (f"the Ray cluster failed while encoding ({type(exc).__name__}{': ' + first if first else ''}); every "
            "shard finished before it is cached: run the build again to continue (finished shards are skipped), "
            "and if it fails again check the cluster with `ray status`, or use --engine local")
