"""Benchmark cases of waferopt-modern (format: see benchmarks/_harness.py).

Each optimizer beside the reference its tests match (``torch.optim.Muon`` + AdamW,
``schedulefree``, ``prodigyopt``, ``pytorch_optimizer``) and, where it has the same
method, ``heavyball`` (a compile-first library; its variants differ in details, so it
is a yardstick of speed, not of numbers). Rows:

* the default eager step of each, against each eager flavour of the references;
* the compiled step (``torch.compile(opt.step, fullgraph=True)`` for ours) against the
  reference's first flavour compiled (its own recipe where it has one);
* the Newton-Schulz iteration alone (ours and torch's, same algorithm) on the bench
  model's matrices, which is most of a Muon step: matrix multiplies, not memory-bound.

Muon runs on the matrices of the bench model and AdamW on the rest. The references
are optional imports: a missing one drops its rows. Set ``WAFEROPT_BENCH_COMPILE=0``
to skip the compiled rows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch
from _harness import COMPILE, Compiled
from torch import Tensor

from waferopt.modern import AdamWScheduleFree, AdEMAMix, Muon, Prodigy
from waferopt.modern.functional import zeropower_via_newtonschulz

ADAMW = {"lr": 3e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.01}
MUON = {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw"}


def optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


torch_muon = getattr(torch.optim, "Muon", None)
torch_ns = getattr(
    importlib.import_module("torch.optim._muon"), "_zeropower_via_newtonschulz", None
)
sf = optional("schedulefree")
prodigyopt = optional("prodigyopt")
pto = optional("pytorch_optimizer")
heavyball = optional("heavyball")


class Steps:
    """Several optimizers stepped as one (torch's recipe: Muon and AdamW side by side)."""

    def __init__(self, *opts: Any) -> None:
        self.opts = opts

    def step(self) -> None:
        for opt in self.opts:
            opt.step()


class NewtonSchulz:
    """The Newton-Schulz orthogonalization of every matrix's gradient, nothing else."""

    def __init__(self, params: list[Tensor], fn: Callable[..., Tensor]) -> None:
        self.grads = [p.grad for p in params if p.ndim == 2]
        self.fn = fn

    def step(self) -> None:
        for g in self.grads:
            self.fn(g, (3.4445, -4.7750, 2.0315), 5, 1e-7)


class KeepGrads:
    """heavyball consumes ``p.grad`` (sets it to None) in ``step()``: give the same
    gradients back before every step, as the other contenders see them."""

    def __init__(self, make: Callable[[list[Tensor]], Any], params: list[Tensor]) -> None:
        self.params = params
        self.grads = [p.grad for p in params]
        self.opt = make(params)

    def step(self) -> None:
        for p, g in zip(self.params, self.grads):
            p.grad = g
        self.opt.step()


def heavy(make: Callable[[list[Tensor]], Any]) -> Callable[[list[Tensor]], KeepGrads]:
    return lambda ps: KeepGrads(make, ps)


def split(params: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    return [p for p in params if p.ndim == 2], [p for p in params if p.ndim != 2]


def ours_muon(params: list[Tensor]) -> Muon:
    matrices, rest = split(params)
    return Muon([{"params": matrices}, {"params": rest, "use_muon": False, **ADAMW}], **MUON)


def torch_muon_adamw(fused: bool) -> Callable[[list[Tensor]], Steps]:
    def make(params: list[Tensor]) -> Steps:
        matrices, rest = split(params)
        flavour = {"fused": True} if fused else {"foreach": True}
        return Steps(torch_muon(matrices, **MUON), torch.optim.AdamW(rest, **ADAMW, **flavour))

    return make


def training(opt: Any) -> Any:
    opt.train()
    return opt


CASES: list[Any] = []

if torch_muon is not None:
    CASES.append(
        (
            "Muon+AdamW",
            ours_muon,
            {
                "torch Muon + AdamW fused": torch_muon_adamw(True),
                "torch Muon + AdamW foreach": torch_muon_adamw(False),
                **(
                    {
                        "heavyball MuonAdamW (yardstick)": heavy(
                            lambda ps: heavyball.MuonAdamW(ps, lr=0.02)
                        )
                    }
                    if heavyball is not None
                    else {}
                ),
            },
        )
    )
if torch_ns is not None:
    CASES.append(
        (
            "Muon: Newton-Schulz alone",
            lambda ps: NewtonSchulz(ps, zeropower_via_newtonschulz),
            {"torch.optim._muon": lambda ps: NewtonSchulz(ps, torch_ns)},
        )
    )

if pto is not None:
    CASES.append(
        (
            "AdEMAMix",
            lambda ps: AdEMAMix(ps, lr=1e-3, weight_decay=0.01, weight_decouple=True),
            {
                "pytorch_optimizer foreach": lambda ps: pto.AdEMAMix(
                    ps, lr=1e-3, weight_decay=0.01, weight_decouple=True, foreach=True
                ),
                "pytorch_optimizer forloop": lambda ps: pto.AdEMAMix(
                    ps, lr=1e-3, weight_decay=0.01, weight_decouple=True, foreach=False
                ),
                **(
                    {
                        "heavyball AdEMAMix (yardstick)": heavy(
                            lambda ps: heavyball.AdEMAMix(ps, lr=1e-3, weight_decay=0.01)
                        )
                    }
                    if heavyball is not None
                    else {}
                ),
            },
        )
    )
if sf is not None:
    CASES.append(
        (
            "AdamWScheduleFree",
            lambda ps: training(AdamWScheduleFree(ps, lr=2.5e-3, weight_decay=0.01)),
            {
                "schedulefree foreach": lambda ps: training(
                    sf.AdamWScheduleFree(ps, lr=2.5e-3, weight_decay=0.01, foreach=True)
                ),
                "schedulefree forloop": lambda ps: training(
                    sf.AdamWScheduleFree(ps, lr=2.5e-3, weight_decay=0.01, foreach=False)
                ),
                **(
                    {
                        "heavyball SFAdamW (yardstick)": heavy(
                            lambda ps: training(heavyball.SFAdamW(ps, lr=2.5e-3, weight_decay=0.01))
                        )
                    }
                    if heavyball is not None
                    else {}
                ),
            },
        )
    )
if prodigyopt is not None:
    CASES.append(
        (
            "Prodigy",
            lambda ps: Prodigy(ps, weight_decay=0.01),
            {"prodigyopt": lambda ps: prodigyopt.Prodigy(ps, weight_decay=0.01)},
        )
    )


def compiled_reference(make: Callable[[list[Tensor]], Any]) -> Callable[[list[Tensor]], Any]:
    """A reference compiled its own way where it has one (pytorch_optimizer's
    ``_compile_foreach``: its foreach update compiled, changing scalars kept out of the
    guards), else ``torch.compile(opt.step, dynamic=True)``."""

    def build(params: list[Tensor]) -> Any:
        opt = make(params)
        if hasattr(opt, "_compile_foreach"):
            torch._dynamo.reset()
            opt._compile_foreach()
            return opt
        # its step counters are Python ints: without dynamic=True every step recompiles
        # until Dynamo's recompile limit, which then disables compiling torch.optim's
        # shared step wrapper for the whole process
        return Compiled(opt, dynamic=True)

    return build


if COMPILE:
    compiled: list[Any] = []
    for label, ours, flavours in CASES:
        if "Newton-Schulz" in label:
            continue
        # the references' first (fastest) flavour; heavyball compiles its own step already
        name, make = next(iter(flavours.items()))
        compiled.append(
            (
                f"{label} compiled",
                lambda ps, ours=ours: Compiled(ours(ps), fullgraph=True),
                {f"{name} compiled": compiled_reference(make)},
            )
        )
    CASES.extend(compiled)
