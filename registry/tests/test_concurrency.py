"""Threads: discovery runs once however many threads ask at once, and optimizers
stepping in different threads on disjoint parameters do not interfere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch

from waferopt import optim
from waferopt.core import Kind
from waferopt.registry import Registry, get_registry, reset_registry
from waferopt.registry import discovery as discovery_module

from ._fuzz import FIRST_PARTY, same

THREADS = 16


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; re-raise any failure."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def test_discovery_runs_once_when_many_threads_ask_at_once():
    """Sixteen threads asking one fresh registry for names: the entry points are walked
    once (slowly, to widen the race) and every thread gets the full list."""
    calls: list[int] = []
    entry_points = discovery_module._entry_points

    def slow_entry_points():
        calls.append(1)
        time.sleep(0.2)
        return entry_points()

    registry = Registry(entry_points=slow_entry_points)
    names = _in_threads(THREADS, lambda _: registry.names(Kind.OPTIMIZER))
    assert len(calls) == 1
    assert all(n == names[0] for n in names)
    assert set(FIRST_PARTY) <= set(names[0])


def test_process_registry_is_one_object_discovered_once(monkeypatch):
    """Threads racing on the process-wide registry share one object, discovered once,
    and resolve a name to the same class."""
    reset_registry()
    monkeypatch.setattr(discovery_module, "_registry", None)
    discovered: list[int] = []
    original = Registry._load_plugins

    def counting(self):
        discovered.append(1)
        time.sleep(0.1)
        original(self)

    monkeypatch.setattr(Registry, "_load_plugins", counting)
    results = _in_threads(
        THREADS, lambda _: (get_registry(), get_registry().resolve("adamw", Kind.OPTIMIZER))
    )
    assert len({id(r) for r, _ in results}) == 1
    assert len({id(c) for _, c in results}) == 1
    assert len(discovered) == 1


# ---------------------------------------------------------------------------- stepping
class _Training:
    """A tiny model with its optimizer and an LR schedule. Built in the main thread:
    model initialisation draws from torch's global generator, which threads share."""

    def __init__(self, name: str, seed: int, steps: int) -> None:
        torch.manual_seed(seed)
        self.seed, self.steps = seed, steps
        self.model = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
        )
        self.optimizer = optim.configure_optimizer(name, self.model.parameters(), lr=0.01)
        self.scheduler = optim.configure_lr_scheduler(
            self.optimizer,
            {
                "scheduler": "CosineDecay",
                "initial_learning_rate": 0.01,
                "end_learning_rate": 0.0,
                "total_iters": steps,
            },
        )

    def run(self, barrier: threading.Barrier | None = None) -> tuple[list[torch.Tensor], dict]:
        """Train; with a barrier, every step waits for the other thread (interleaving)."""
        for step in range(self.steps):
            if barrier is not None:
                barrier.wait()
            generator = torch.Generator().manual_seed(self.seed * 1000 + step)
            x = torch.randn(6, 4, generator=generator)
            self.optimizer.zero_grad()
            self.model(x).square().mean().backward()
            self.optimizer.step()
            self.scheduler.step()
        return [p.detach().clone() for p in self.model.parameters()], self.optimizer.state_dict()


def _alone_and_together(names: tuple[str, str], steps: int = 12) -> tuple[list, list]:
    alone = [_Training(name, seed, steps).run() for seed, name in enumerate(names, start=1)]
    trainings = [_Training(name, seed, steps) for seed, name in enumerate(names, start=1)]
    barrier = threading.Barrier(2)
    together = _in_threads(2, lambda i: trainings[i].run(barrier))
    return alone, together


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_two_optimizers_in_two_threads_do_not_interfere(name):
    """Two instances of one optimizer class, each on its own model, stepping in two
    threads in lockstep, end exactly where each would alone."""
    alone, together = _alone_and_together((name, name))
    for (params_a, state_a), (params_b, state_b) in zip(alone, together):
        assert all(torch.equal(a, b) for a, b in zip(params_a, params_b))
        assert same(state_a, state_b)


def test_two_different_optimizers_in_two_threads_do_not_interfere():
    """AdamW and SGD in two threads (different families) end as they would alone."""
    alone, together = _alone_and_together(("AdamW", "SGD"))
    for (params_a, state_a), (params_b, state_b) in zip(alone, together):
        assert all(torch.equal(a, b) for a, b in zip(params_a, params_b))
        assert same(state_a, state_b)
