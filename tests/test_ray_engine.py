"""Ray engine decisions that need no cluster: which cluster to join, how CPUs are shared."""
from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

from core.engine import ray as engine  # noqa: E402


@pytest.fixture
def recorded(monkeypatch):
    """Fake what ``ray start`` records and which GCS servers run on this host."""
    from ray._private import services, utils

    state = {"recorded": None, "alive": []}
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(utils, "read_ray_address", lambda temp_dir=None: state["recorded"])
    monkeypatch.setattr(services, "find_gcs_addresses", lambda: list(state["alive"]))
    return state


def test_no_recorded_cluster_means_a_private_one(recorded):
    recorded["alive"] = ["10.0.0.1:6379"]  # another process's private Ray: never joined
    assert engine.running_cluster() is None


def test_a_recorded_live_cluster_is_joined(recorded):
    recorded.update(recorded="127.0.0.1:6379", alive=["127.0.0.1:6379", "127.0.0.1:6380"])
    assert engine.running_cluster() == "127.0.0.1:6379"


def test_a_recorded_cluster_that_stopped_is_not_joined(recorded):
    recorded.update(recorded="127.0.0.1:6379", alive=["127.0.0.1:6380"])
    assert engine.running_cluster() is None


def test_ray_address_wins(recorded, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", " ray://head:10001 ")
    assert engine.running_cluster() == "ray://head:10001"


@pytest.mark.parametrize("cpus, gpus, workers, expected", [
    (2, 0, None, (2, 1.0, 0.0)),   # one actor per CPU by default
    (2, 0, 1, (1, 2.0, 0.0)),      # one actor gets both cores (as the local build's threads)
    (3, 0, 2, (2, 1.0, 0.0)),      # whole CPUs only when each gets at least one
    (2, 0, 4, (4, 0.5, 0.0)),      # more actors than CPUs: fractions
    (16, 4, None, (4, 4.0, 1.0)),  # one actor per GPU, CPUs shared
    (16, 4, 8, (4, 4.0, 1.0)),
])
def test_pool_size_shares_the_cpus(monkeypatch, cpus, gpus, workers, expected):
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": float(cpus), "GPU": float(gpus)})
    assert engine.pool_size(workers) == expected
