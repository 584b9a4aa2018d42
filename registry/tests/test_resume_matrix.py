"""Exact resume, for every first-party optimizer crossed with the usual schedules.

For each pair: 2N steps in one run equal N steps, ``torch.save``, ``torch.load(...,
weights_only=True)`` into fresh objects built from the same config, and N more steps,
bit for bit: parameters, every optimizer state tensor and hyperparameter, every
scheduler's state and the values it writes. Checkpoints also move between float32
and float64 parameters and between CPU and CUDA (where present); what is guaranteed
there is written in ``docs/explanation/checkpoints.md``.
"""

from __future__ import annotations

import inspect
import io
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from waferopt import optim
from waferopt.core import Kind, Optimizer, Scheduler
from waferopt.registry import get_registry

from ._fuzz import FIRST_PARTY, same

N = 5

OPTIMIZER_KWARGS: dict[str, dict[str, Any]] = {
    "SGD": {"momentum": 0.9, "nesterov": True},
    "RMSprop": {"momentum": 0.5, "centered": True},
    "AdamW": {"amsgrad": True},
    "ASGD": {"t0": 2.0},
}
"""Beyond lr and weight_decay: options that give the optimizer more state to restore."""


def _lr(initial: float, end: float, steps: int, tags: Any = None) -> dict[str, Any]:
    args = {"initial_learning_rate": initial, "end_learning_rate": end, "total_iters": steps}
    return args if tags is None else {**args, "param_group_tags": tags}


def _tagged(o: Optimizer) -> list[Scheduler]:
    return [
        optim.configure_scheduler(o, {"CosineDecayLR": _lr(0.01, 0.001, 2 * N, tags="decay")}),
        optim.configure_scheduler(
            o,
            {
                "ExponentialLR": {
                    "initial_learning_rate": 0.005,
                    "total_iters": 3,
                    "decay_rate": 0.5,
                    "param_group_tags": ["other"],
                }
            },
        ),
    ]


SCHEDULES: dict[str, Callable[[Optimizer], list[Scheduler]]] = {
    "constant": lambda o: [optim.configure_lr_scheduler(o, 0.01)],
    "warmup-cosine": lambda o: [
        optim.configure_lr_scheduler(
            o,
            [
                {"scheduler": "Linear", **_lr(0.0, 0.01, 3)},
                {"scheduler": "CosineDecay", **_lr(0.01, 0.001, 2 * N)},
            ],
        )
    ],
    "cyclic": lambda o: [
        optim.configure_scheduler(
            o,
            {
                "CyclicLR": {
                    "base_lr": 0.001,
                    "max_lr": 0.01,
                    "step_size_up": 2,
                    "mode": "triangular2",
                }
            },
        )
    ],
    "one-cycle": lambda o: [
        optim.configure_scheduler(
            o,
            {"OneCycleLR": {"initial_learning_rate": 0.001, "max_lr": 0.01, "total_steps": 2 * N}},
        )
    ],
    "lr-and-wd": lambda o: [
        optim.configure_scheduler(o, {"CosineDecayLR": _lr(0.01, 0.001, 2 * N)}),
        optim.configure_scheduler(
            o, {"CosineDecayWD": {"initial_val": 0.01, "end_val": 0.001, "total_iters": 2 * N}}
        ),
    ],
    "tagged": _tagged,
}


# ---------------------------------------------------------------------------- a run
class Run:
    """A model, its optimizer and schedulers, built from one config."""

    def __init__(
        self,
        name: str,
        schedule: str,
        *,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: str = "cpu",
    ) -> None:
        torch.manual_seed(seed)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)
        ).to(dtype=dtype, device=device)
        self.dtype, self.device = dtype, device
        cls = get_registry().resolve(name, Kind.OPTIMIZER)
        takes_wd = "weight_decay" in inspect.signature(cls).parameters
        weights = [p for n, p in self.model.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in self.model.named_parameters() if n.endswith("bias")]
        groups: list[dict[str, Any]] = [
            {"params": weights, "tags": {"decay"}},
            {"params": biases, "tags": {"other"}},
        ]
        kwargs = {"lr": 0.01, **OPTIMIZER_KWARGS.get(name, {})}
        if takes_wd:
            kwargs["weight_decay"] = 0.01
            groups[1]["weight_decay"] = 0.0
        self.optimizer = optim.configure_optimizer(name, groups, **kwargs)
        self.schedulers = SCHEDULES[schedule](self.optimizer)
        self.done = 0

    def step(self, count: int) -> None:
        for _ in range(count):
            generator = torch.Generator().manual_seed(1000 + self.done)
            x = torch.randn(5, 4, generator=generator).to(self.dtype).to(self.device)
            y = torch.randn(5, 2, generator=generator).to(self.dtype).to(self.device)
            self.optimizer.zero_grad()
            torch.nn.functional.mse_loss(self.model(x), y).backward()
            self.optimizer.step()
            for scheduler in self.schedulers:
                scheduler.step()
            self.done += 1

    def checkpoint(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedulers": [s.state_dict() for s in self.schedulers],
            "done": self.done,
        }

    def restore(self, checkpoint: dict[str, Any], schedulers_first: bool = False) -> None:
        self.model.load_state_dict(checkpoint["model"])
        if schedulers_first:
            for scheduler, state in zip(self.schedulers, checkpoint["schedulers"]):
                scheduler.load_state_dict(state)
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if not schedulers_first:
            for scheduler, state in zip(self.schedulers, checkpoint["schedulers"]):
                scheduler.load_state_dict(state)
        self.done = checkpoint["done"]


def _through_file(checkpoint: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _scheduler_state(scheduler: Scheduler) -> dict[str, Any]:
    # ``_step_count`` is not restored (as in Cerebras and torch: it counts this
    # object's own step() calls); everything else is.
    return {k: v for k, v in scheduler.state_dict().items() if k != "_step_count"}


def _values(optimizer: Optimizer) -> list[Any]:
    return [
        {k: v for k, v in g.items() if k in ("lr", "weight_decay")} for g in optimizer.param_groups
    ]


def assert_identical(a: Run, b: Run) -> None:
    """Parameters, optimizer state and hyperparameters, scheduler states and values."""
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters()):
        assert torch.equal(p, q), f"parameter {name} differs"
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert same(sa["state"], sb["state"]), "optimizer state differs"
    assert same(sa["param_groups"], sb["param_groups"]), "optimizer param groups differ"
    assert same(_values(a.optimizer), _values(b.optimizer)), "scheduled values differ"
    for x, y in zip(a.schedulers, b.schedulers):
        assert same(_scheduler_state(x), _scheduler_state(y)), f"{type(x).__name__} state differs"
        assert same(x.get_last_value(), y.get_last_value()), f"{type(x).__name__} values differ"


def _pairs() -> list[Any]:
    out = []
    for name in FIRST_PARTY:
        for schedule in SCHEDULES:
            marks = []
            if name == "Rprop" and schedule == "lr-and-wd":
                marks.append(pytest.mark.skip(reason="Rprop has no weight_decay to schedule"))
            out.append(pytest.param(name, schedule, marks=marks, id=f"{name}-{schedule}"))
    return out


# ---------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize(("name", "schedule"), _pairs())
def test_resume_is_exact(name, schedule):
    """2N steps == N steps, save, load (weights_only) into fresh objects, N steps."""
    uninterrupted = Run(name, schedule)
    uninterrupted.step(2 * N)

    first = Run(name, schedule)
    first.step(N)
    checkpoint = _through_file(first.checkpoint())
    first.step(N)  # stepping on after the save must not change the checkpoint
    assert_identical(first, uninterrupted)

    resumed = Run(name, schedule, seed=1)  # fresh objects, other initial weights
    resumed.restore(checkpoint, schedulers_first=name in ("Adam", "Lion", "Adagrad"))
    resumed.step(N)
    assert_identical(resumed, uninterrupted)


def _loaded_state_matches(run: Run, checkpoint: dict[str, Any]) -> None:
    """After a load, every tensor holds the saved value, in the run's dtype and device."""
    saved = checkpoint["optimizer"]["state"]
    here = run.optimizer.state_dict()["state"]
    assert saved.keys() == here.keys()
    for index, state in saved.items():
        for key, value in state.items():
            current = here[index][key]
            if isinstance(value, torch.Tensor):
                assert current.device.type == torch.device(run.device).type
                expected = value.to(dtype=current.dtype, device=current.device)
                assert torch.equal(current, expected), f"state {index}.{key}"
            else:
                assert current == value
    for p, (name, value) in zip(run.model.parameters(), checkpoint["model"].items()):
        assert p.dtype == run.dtype, name
        assert torch.equal(p, value.to(dtype=p.dtype, device=p.device)), name


@pytest.mark.parametrize("name", FIRST_PARTY)
@pytest.mark.parametrize(
    ("saved", "loaded"), [(torch.float32, torch.float64), (torch.float64, torch.float32)]
)
def test_checkpoint_moves_between_float32_and_float64(name, saved, loaded):
    """A checkpoint loads into parameters of the other dtype: values are cast (exact
    from float32 to float64), scheduled values and step counts are unchanged, and the
    run goes on with finite values in the new dtype."""
    schedule = "lr-and-wd" if name != "Rprop" else "warmup-cosine"
    source = Run(name, schedule, dtype=saved)
    source.step(N)
    checkpoint = _through_file(source.checkpoint())

    target = Run(name, schedule, seed=1, dtype=loaded)
    target.restore(checkpoint)
    _loaded_state_matches(target, checkpoint)
    assert same(_values(target.optimizer), _values(source.optimizer))
    for x, y in zip(source.schedulers, target.schedulers):
        assert same(_scheduler_state(x), _scheduler_state(y))
    if saved == torch.float32:
        # float32 -> float64 is exact, so the state is the float32 run's, widened.
        for p, q in zip(source.model.parameters(), target.model.parameters()):
            assert torch.equal(p.double(), q)
    target.step(N)
    source.step(N)
    assert same(_values(target.optimizer), _values(source.optimizer))
    for p, q in zip(source.model.parameters(), target.model.parameters()):
        assert q.dtype == loaded and torch.isfinite(q).all()
        assert torch.allclose(p.double(), q.double(), rtol=1e-3, atol=1e-4)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@CUDA
@pytest.mark.parametrize("name", FIRST_PARTY)
@pytest.mark.parametrize(("saved", "loaded"), [("cpu", "cuda"), ("cuda", "cpu")])
def test_checkpoint_moves_between_cpu_and_cuda(name, saved, loaded):
    """A checkpoint saved on one device loads on the other: every state tensor lands on
    the loading side's device with the saved value, scheduled values are exact, and
    the run goes on finitely."""
    schedule = "lr-and-wd" if name != "Rprop" else "warmup-cosine"
    source = Run(name, schedule, device=saved)
    source.step(N)
    checkpoint = _through_file(source.checkpoint())
    target = Run(name, schedule, seed=1, device=loaded)
    target.restore(checkpoint)
    _loaded_state_matches(target, checkpoint)
    for x, y in zip(source.schedulers, target.schedulers):
        xs, ys = _scheduler_state(x), _scheduler_state(y)
        assert xs.keys() == ys.keys()
        assert int(xs["last_epoch"]) == int(ys["last_epoch"])
    assert [float(v["lr"]) for v in _values(source.optimizer)] == [
        float(v["lr"]) for v in _values(target.optimizer)
    ]
    target.step(N)
    for q in target.model.parameters():
        assert q.device.type == loaded and torch.isfinite(q).all()
    assert all(math.isfinite(float(v["lr"])) for v in _values(target.optimizer))
