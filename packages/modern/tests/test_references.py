"""Trajectories against the references users trust, every option, float32 and float64.

Muon against ``torch.optim.Muon``; AdamWScheduleFree against ``schedulefree``; Prodigy
against ``prodigyopt``; AdEMAMix against ``pytorch_optimizer``. The references are
test dependencies (installed by the nox test session), never package dependencies.

Each run feeds both optimizers the gradients of the same noisy quadratic (so that
Prodigy's distance estimate actually grows) and compares the parameters after every
step: float64 to 1e-12 relative, float32 to a few float32 ulps of accumulated rounding.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from waferopt.modern import AdamWScheduleFree, AdEMAMix, Muon, Prodigy

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: {"rtol": 2e-5, "atol": 2e-6}, torch.float64: {"rtol": 1e-12, "atol": 1e-13}}
STEPS = 25


def make_params(shapes, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for s in shapes]


def compare(ours_factory, ref_factory, shapes, dtype, *, steps=STEPS, before=None, after=None):
    """Run both on copies of the same params and gradients; compare after every step."""
    start = make_params(shapes, dtype)
    targets = make_params(shapes, dtype, seed=1)
    ours = [torch.nn.Parameter(p.clone()) for p in start]
    ref = [torch.nn.Parameter(p.clone()) for p in start]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = ours_factory(ours), ref_factory(ref)
    for opt in (a, b):
        if before is not None:
            before(opt)
    gen = torch.Generator().manual_seed(2)
    for step in range(steps):
        for p, q, t in zip(ours, ref, targets):
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            grad = (p.detach() - t) + 0.1 * noise
            p.grad = grad.clone()
            q.grad = grad.clone()
        a.step()
        b.step()
        for i, (p, q) in enumerate(zip(ours, ref)):
            torch.testing.assert_close(
                p.detach(),
                q.detach(),
                **TOL[dtype],
                msg=lambda m, i=i, step=step: f"parameter {i} after step {step + 1}: {m}",
            )
    if after is not None:
        after(a)
        after(b)
        for p, q in zip(ours, ref):
            torch.testing.assert_close(p.detach(), q.detach(), **TOL[dtype])
    return a, b


# ---------------------------------------------------------------------------- Muon
MATRICES = [(8, 5), (5, 9), (6, 6)]
MUON_CONFIGS = [
    {},
    {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw"},
    {"lr": 0.02, "adjust_lr_fn": "original", "weight_decay": 0.0},
    {"lr": 0.01, "nesterov": False, "momentum": 0.9},
    {"lr": 0.01, "ns_steps": 3, "ns_coefficients": (3.0, -3.2, 1.2), "eps": 1e-5},
    {"lr": 0.05, "momentum": 0.0, "weight_decay": 0.3},
]


@pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs torch>=2.9")
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("config", MUON_CONFIGS, ids=repr)
def test_muon_matches_torch(config, dtype):
    compare(
        lambda ps: Muon(ps, **config),
        lambda ps: torch.optim.Muon(ps, **config),
        MATRICES,
        dtype,
    )


@pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs torch>=2.9")
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_muon_with_adamw_groups_matches_torch_muon_plus_adamw(dtype):
    """One Muon with a ``use_muon=False`` group == torch's Muon on the matrices plus
    torch's AdamW on the rest (the recipe of torch.optim.Muon's documentation)."""
    shapes = [(8, 5), (5,), (5, 9), (9,), (3, 4, 2)]
    matrices = [0, 2]
    adamw = {"lr": 3e-3, "betas": (0.9, 0.95), "eps": 1e-10, "weight_decay": 0.01}

    def ours(ps):
        return Muon(
            [
                {"params": [ps[i] for i in matrices]},
                {
                    "params": [p for i, p in enumerate(ps) if i not in matrices],
                    "use_muon": False,
                    **adamw,
                },
            ],
            lr=0.02,
            adjust_lr_fn="match_rms_adamw",
        )

    class Both:
        def __init__(self, ps):
            self.muon = torch.optim.Muon(
                [ps[i] for i in matrices], lr=0.02, adjust_lr_fn="match_rms_adamw"
            )
            rest = [p for i, p in enumerate(ps) if i not in matrices]
            self.adamw = torch.optim.AdamW(rest, foreach=False, **adamw)

        def step(self):
            self.muon.step()
            self.adamw.step()

    compare(ours, Both, shapes, dtype)


# ---------------------------------------------------------------------------- AdEMAMix
ADEMAMIX_CONFIGS = [
    {},
    {"lr": 1e-2, "betas": (0.8, 0.99, 0.999), "alpha": 8.0},
    {"lr": 1e-2, "t_alpha_beta3": 10.0},
    {"lr": 1e-2, "t_alpha_beta3": 40, "alpha": 2.0, "weight_decay": 0.1},
    {"lr": 1e-2, "weight_decay": 0.1, "weight_decouple": True},
    {"lr": 1e-2, "weight_decay": 0.1, "weight_decouple": True, "fixed_decay": True},
    {"lr": 1e-2, "weight_decay": 0.05, "eps": 1e-6, "maximize": True},
]


@pytest.mark.parametrize("foreach", [True, False], ids=["ref-foreach", "ref-forloop"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("config", ADEMAMIX_CONFIGS, ids=repr)
def test_ademamix_matches_pytorch_optimizer(config, dtype, foreach):
    ref = pytest.importorskip("pytorch_optimizer")
    maximize = config.get("maximize", False)
    compare(
        lambda ps: AdEMAMix(ps, **config),
        lambda ps: ref.AdEMAMix(ps, foreach=foreach, **config),
        [(8, 5), (7,), (2, 3, 4)],
        dtype,
        steps=STEPS if not maximize else 5,  # maximize walks away from the quadratic
    )


# ---------------------------------------------------------------------------- schedule-free
SF_CONFIGS = [
    {},
    {"lr": 1e-2},
    {"lr": 1e-2, "warmup_steps": 10, "weight_decay": 0.1},
    {"lr": 1e-2, "betas": (0.95, 0.99), "eps": 1e-6, "r": 0.5, "weight_lr_power": 1.0},
    {"lr": 1e-2, "warmup_steps": 5, "weight_lr_power": 0.0},
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("config", SF_CONFIGS, ids=repr)
def test_schedule_free_matches_schedulefree(config, dtype):
    """Train mode trajectory (y), then eval() on both: the averages x agree too."""
    sf = pytest.importorskip("schedulefree")
    compare(
        lambda ps: AdamWScheduleFree(ps, **config),
        lambda ps: sf.AdamWScheduleFree(ps, foreach=True, **config),
        [(8, 5), (7,), (2, 3, 4)],
        dtype,
        before=lambda o: o.train(),
        after=lambda o: o.eval(),
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_schedule_free_train_eval_switches_match_schedulefree(dtype):
    """eval() and train() in the middle of training move the weights as the reference does."""
    sf = pytest.importorskip("schedulefree")
    start = make_params([(6, 4), (4,)], dtype)
    ours = [torch.nn.Parameter(p.clone()) for p in start]
    ref = [torch.nn.Parameter(p.clone()) for p in start]
    a = AdamWScheduleFree(ours, lr=0.05, warmup_steps=3)
    b = sf.AdamWScheduleFree(ref, lr=0.05, warmup_steps=3)
    gen = torch.Generator().manual_seed(3)
    for _rounds in range(3):
        a.train()
        b.train()
        for _ in range(4):
            for p, q in zip(ours, ref):
                g = torch.randn(p.shape, generator=gen, dtype=dtype)
                p.grad, q.grad = g.clone(), g.clone()
            a.step()
            b.step()
        a.eval()
        b.eval()
        for p, q in zip(ours, ref):
            torch.testing.assert_close(p.detach(), q.detach(), **TOL[dtype])


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_schedule_free_checkpoints_cross_with_schedulefree(mode):
    """A schedulefree checkpoint (the mode a key of every group) loads into ours and
    ours into schedulefree, saved in either mode; both then go on as the reference
    that was never interrupted (float64, 1e-12)."""
    sf = pytest.importorskip("schedulefree")
    dtype = torch.float64
    start = make_params([(6, 4), (4,)], dtype)
    gen = torch.Generator().manual_seed(5)
    grads = [[torch.randn(p.shape, generator=gen, dtype=dtype) for p in start] for _ in range(6)]

    def run(opt, params, steps):
        opt.train()
        for step in steps:
            for p, g in zip(params, grads[step]):
                p.grad = g.clone()
            opt.step()

    def build(kind, params):
        cls = AdamWScheduleFree if kind == "ours" else sf.AdamWScheduleFree
        return cls(params, lr=0.05, warmup_steps=2, weight_decay=0.01)

    uninterrupted = [torch.nn.Parameter(p.clone()) for p in start]
    reference = build("ref", uninterrupted)
    run(reference, uninterrupted, range(6))
    reference.eval()
    for saver, loader in (("ref", "ours"), ("ours", "ref")):
        first = [torch.nn.Parameter(p.clone()) for p in start]
        opt = build(saver, first)
        run(opt, first, range(3))
        getattr(opt, mode)()
        saved = opt.state_dict()
        assert all(g["train_mode"] is (mode == "train") for g in saved["param_groups"])
        if loader == "ref":  # schedulefree's own option, which ours does not have
            saved["param_groups"] = [{**g, "foreach": True} for g in saved["param_groups"]]
        second = [torch.nn.Parameter(p.detach().clone()) for p in first]
        resumed = build(loader, second)
        resumed.load_state_dict(saved)
        run(resumed, second, range(3, 6))
        resumed.eval()
        for p, q in zip(second, uninterrupted):
            torch.testing.assert_close(p.detach(), q.detach(), **TOL[dtype])


# ---------------------------------------------------------------------------- Prodigy
PRODIGY_CONFIGS = [
    {},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decouple": False},
    {"use_bias_correction": True},
    {"safeguard_warmup": True, "d0": 1e-4},
    {"betas": (0.0, 0.99)},
    {"betas": (0.95, 0.99), "beta3": 0.9, "eps": 1e-6},
    {"d_coef": 0.5, "growth_rate": 1.2},
    {"slice_p": 3, "lr": 0.5},
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("config", PRODIGY_CONFIGS, ids=repr)
def test_prodigy_matches_prodigyopt(config, dtype):
    ref = pytest.importorskip("prodigyopt")
    shapes = [(8, 5), (7,), (2, 3, 4)]
    a, b = compare(
        lambda ps: Prodigy(ps, **config), lambda ps: ref.Prodigy(ps, **config), shapes, dtype
    )
    group = b.param_groups[0]
    assert group["d"] > config.get("d0", 1e-6) * 10, "the test problem must grow d"
    for key in ("d", "d_max", "d_numerator", "d_hat", "k"):
        assert a.param_groups[0][key].item() == pytest.approx(group[key], rel=1e-4), key


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_prodigy_groups_share_the_estimate_and_lr_zero_groups_match(dtype):
    """Two groups, one with lr 0 (prodigyopt's only multi-lr case), and a zero-initialised
    parameter (whose ``p0`` is a 0-d zero)."""
    ref = pytest.importorskip("prodigyopt")

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.0, "weight_decay": 0.1}]

    start_zero = torch.zeros(5, dtype=dtype)

    def ours(ps):
        with torch.no_grad():
            ps[1].copy_(start_zero)
        return Prodigy(groups(ps), weight_decay=0.01)

    def theirs(ps):
        with torch.no_grad():
            ps[1].copy_(start_zero)
        return ref.Prodigy(groups(ps), weight_decay=0.01)

    compare(ours, theirs, [(8, 5), (5,), (4, 3)], dtype)


def test_prodigy_different_lrs_raise_like_prodigyopt():
    p, q = torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(3))
    opt = Prodigy([{"params": [p]}, {"params": [q], "lr": 0.5}])
    p.grad, q.grad = torch.randn(3), torch.randn(3)
    with pytest.raises(RuntimeError, match="same or 0"):
        opt.step()


def test_prodigy_zero_gradients_take_no_step_like_prodigyopt():
    ref = pytest.importorskip("prodigyopt")
    start = torch.randn(4, 3)
    a, b = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    oa, ob = Prodigy([a], weight_decay=0.1), ref.Prodigy([b], weight_decay=0.1)
    for grad in (torch.zeros(4, 3), torch.zeros(4, 3), torch.randn(4, 3)):
        a.grad, b.grad = grad.clone(), grad.clone()
        oa.step()
        ob.step()
        torch.testing.assert_close(a.detach(), b.detach())
        assert oa.param_groups[0]["k"].item() == ob.param_groups[0]["k"]


# ---------------------------------------------------------------------------- large tensors
LARGE = [(600, 300), (7,), (2, 3, 4)]
"""The first tensor is larger than a CPU chunk (``waferopt.core.foreach.runs`` cuts it into
cache-sized views), so the chunked paths of the kernels are compared too."""


@pytest.mark.parametrize(
    ("name", "ours", "theirs"),
    [
        ("AdEMAMix", lambda ps: AdEMAMix(ps, lr=1e-2, t_alpha_beta3=10.0), "pytorch_optimizer"),
        (
            "AdamWScheduleFree",
            lambda ps: AdamWScheduleFree(ps, lr=1e-2, weight_decay=0.1),
            "schedulefree",
        ),
        ("Prodigy", lambda ps: Prodigy(ps, weight_decay=0.1), "prodigyopt"),
        ("Prodigy coupled", lambda ps: Prodigy(ps, weight_decay=0.1, decouple=False), "prodigyopt"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_large_tensors_match(name, ours, theirs):
    ref = pytest.importorskip(theirs)
    factory = {
        "AdEMAMix": lambda ps: ref.AdEMAMix(ps, lr=1e-2, t_alpha_beta3=10.0),
        "AdamWScheduleFree": lambda ps: ref.AdamWScheduleFree(ps, lr=1e-2, weight_decay=0.1),
        "Prodigy": lambda ps: ref.Prodigy(ps, weight_decay=0.1),
        "Prodigy coupled": lambda ps: ref.Prodigy(ps, weight_decay=0.1, decouple=False),
    }[name]
    before = (lambda o: o.train()) if name == "AdamWScheduleFree" else None
    compare(ours, factory, LARGE, torch.float64, steps=8, before=before)
