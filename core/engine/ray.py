"""The Ray engine: an actor pool running the mapper, fed unit after unit.

Each actor loads its encoder once (one GPU per actor when the cluster has GPUs) and turns
whole units (shards) into vectors; the driver writes each finished unit into the vector
cache as it arrives, so a killed driver or worker costs at most the units in flight and
the next run skips every unit already cached. Workers read the shards themselves, so
shards must be reachable from every node (a shared file system; URLs are refused).

``address``: None joins the cluster already running on this machine (``ray start --head``, or
``RAY_ADDRESS``) and else starts a private local Ray, kept for the process; ``auto`` joins the cluster this machine
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


#: How this process reached Ray, filled by ``connect`` (``start_s``: seconds ``ray.init`` took;
#: ``reused``: joined a cluster that was already running) and by each run (``actors_ready_s``:
#: seconds until every actor had loaded its model). The bench reports these as start-up cost.
STARTUP: dict = {}


def running_cluster() -> str | None:
    """The address of a Ray cluster already running for this machine, else None: ``RAY_ADDRESS``
    when set, or the cluster ``ray start`` recorded, when its GCS server is alive on this host
    (a private Ray of another process is never joined: it records no address)."""
    try:
        from ray._private import services, utils
    except ImportError:  # pragma: no cover - another Ray layout: start a private one
        return None
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env:
        return env
    try:
        recorded = utils.read_ray_address(None)
    except OSError:
        return None
    if not recorded:
        return None
    try:
        alive = set(services.find_gcs_addresses())
    except Exception:  # noqa: BLE001 - psutil scan failed: do not join what cannot be checked
        return None
    return recorded if recorded in alive else None


def connect(address: str | None = None, num_cpus: int | None = None) -> dict:
    """Initialise Ray once per process and keep it for the process: ``address`` when given, else
    the cluster already running on this machine (``running_cluster``), else a private local one
    (stopped with this process, see ``core.engine.reaper``). Returns ``STARTUP``."""
    import time

    import ray

    if ray.is_initialized():
        return STARTUP
    kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    t0 = time.perf_counter()
    target = address or running_cluster()
    if target:
        ray.init(address=target, runtime_env=runtime_env(target), **kwargs)
    else:
        from .reaper import start

        start()  # a private Ray's agents are stopped when this process stops, even by SIGKILL
        ray.init(num_cpus=num_cpus or config.default_threads(), runtime_env=runtime_env(None), **kwargs)
    STARTUP.clear()
    STARTUP.update(start_s=time.perf_counter() - t0, reused=bool(target), address=target or "private")
    return STARTUP


class RayMapper:
    """The actor: one encoder loaded at construction (with ``threads`` torch threads), then one
    unit per call."""

    def __init__(self, spec: str, env: dict[str, str], threads: int = 1):
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        os.environ["OMP_NUM_THREADS"] = str(threads)
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:  # pragma: no cover - encoders without torch
            pass
        self.mapper = Mapper(spec)
        _warm_up(self.mapper.encoder)

    def ready(self) -> bool:
        return True

    def run(self, unit, wanted: list[str]) -> dict:
        return self.mapper(unit, wanted).to_row()


def _warm_up(encoder) -> None:
    """Encode one blank picture, so the libraries an encoder imports on its first batch are loaded
    while the actor starts (counted as start-up), not inside the first unit."""
    try:
        from PIL import Image

        encoder.encode_images([Image.new("RGB", (64, 64), "white")])
    except Exception:  # noqa: BLE001 - a warm-up never fails the build; the first unit reports problems
        pass


def pool_size(workers: int | None) -> tuple[int, float, float]:
    """(actors, CPUs per actor, GPUs per actor): one actor per GPU when there are GPUs, else
    ``workers`` (default one per CPU); the CPUs are shared out among the actors."""
    import ray

    res = ray.cluster_resources()
    gpus = int(res.get("GPU", 0))
    cpus = max(1.0, float(res.get("CPU", 1)))
    actors = max(1, min(workers or gpus, gpus)) if gpus else max(1, workers or int(cpus))
    share = cpus / actors
    return actors, (float(int(share)) if share >= 1 else round(share, 2)), (1.0 if gpus else 0.0)


#: Units queued on each actor beyond the one it computes (so it never waits for the driver).
IN_FLIGHT = 2


def distribute(jobs: list, spec: str, options=None) -> Iterator[UnitResult]:
    """Yield each unit's vectors as the actor pool finishes it (in completion order)."""
    try:
        yield from _distribute(jobs, spec, options)
    except Exception as exc:  # noqa: BLE001 - Ray surfaces a dead cluster as many error types
        if not type(exc).__module__.startswith("ray"):
            raise
        raise RuntimeError(cluster_failure(exc)) from None


def _distribute(jobs: list, spec: str, options=None) -> Iterator[UnitResult]:
    """Plain actors, one encoder each, fed unit after unit (``IN_FLIGHT`` per actor, the next
    sent as one finishes): no dataset layer whose own tasks compete for the CPUs."""
    import time

    import ray

    connect(getattr(options, "address", None))  # a private Ray gets every core; the actors share them
    actors, cpus, gpus = pool_size(getattr(options, "workers", None))
    actors = min(actors, len(jobs))
    # a shard unit travels as its name and the keys it still lacks (the actor streams the shard)
    todo = [(replace(unit, figures=()) if unit.shard else unit, wanted) for unit, wanted in jobs]
    todo.reverse()
    cls = ray.remote(RayMapper).options(num_cpus=cpus, num_gpus=gpus)
    t0 = time.perf_counter()
    pool = [cls.remote(spec, worker_env(), max(1, int(cpus))) for _ in range(actors)]
    try:
        ray.get([a.ready.remote() for a in pool])
        STARTUP["actors_ready_s"] = time.perf_counter() - t0
        STARTUP["actors"] = actors
        owner: dict = {}
        for actor in pool:
            for _ in range(IN_FLIGHT):
                if todo:
                    owner[actor.run.remote(*todo.pop())] = actor
        while owner:
            done, _ = ray.wait(list(owner), num_returns=1)
            actor = owner.pop(done[0])
            if todo:
                owner[actor.run.remote(*todo.pop())] = actor
            yield UnitResult.from_row(ray.get(done[0]))
    finally:
        for actor in pool:  # a kept cluster gets its CPUs back for the next run
            ray.kill(actor)


def cluster_failure(exc: BaseException) -> str:
    """One line for a Ray failure (an agent, worker or the cluster died): what, and what to do."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")[:200]
    return (f"the Ray cluster failed while encoding ({type(exc).__name__}{': ' + first if first else ''}); every "
            "shard finished before it is cached: run the build again to continue (finished shards are skipped), "
            "and if it fails again check the cluster with `ray status`, or use --engine local")
