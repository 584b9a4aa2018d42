"""The adaptive family against its references.

**Adadelta, Adagrad and RMSprop** follow torch.optim (foreach=False) step for step.

Every option combination the signatures allow, two param groups with different
settings, float32 and float64, 60 steps. Gradients depend on the trajectory
(``g = noise + 0.3 * p``), so a wrong update shows up in later gradients too.

Tolerances: float64 1e-12 relative (both sides differ only by rounding: multi-tensor
vs for-loop order, Adadelta's single square root of a quotient); float32 1e-5.
Hyperparameters given as 0-d tensors are compared with a looser 1e-6 (float64): a
float32 tensor lr is a rounded 0.05, and Adagrad's lr_decay factor is computed in
float32 as the step counter is (spec: ``state["step"]`` float32).

Adagrad: the spec's default ``eps=1e-6`` differs from torch's 1e-10, so every
Adagrad case passes ``eps`` explicitly to both sides.

**Adafactor** against a reference written here from HuggingFace
``transformers.Adafactor``.

The reference (``hf_adafactor_step``) transcribes the HuggingFace rule with Python
floats and one tensor at a time (beta1=None): RMS of the parameter before the update,
beta2_t = 1 - t**decay_rate, G = g^2 + eps1, the factored row/column moments for
ndim >= 2 (incl. 3-D, where the factorisation is over the last two dimensions),
u / max(1, RMS(u) / clip_threshold), decay -weight_decay * lr_t on the parameter, and
the relative step min(1e-6 t if warmup_init else 1e-2, 1/sqrt(t)).

Tolerances: float64 1e-10 relative (ours computes every per-step scalar as a tensor,
the reference in Python floats); float32 1e-5.

**The functional kernels** of waferopt.adaptive, called without an optimizer, give the
class's step.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from waferopt.adaptive import Adadelta, Adafactor, Adagrad, RMSprop, functional

STEPS = 60
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}
TENSOR_TOL = dict(rtol=1e-6, atol=1e-7)


def make_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),
        torch.nn.Parameter(torch.randn(3, 2, 4, dtype=dtype)),
        torch.nn.Parameter(torch.randn(1, dtype=dtype)),
    ]


def run(factory, dtype, first, second, steps=STEPS):
    """Two groups: params[:2] with ``first``, params[2:] with ``second``."""
    params = make_params(dtype)
    opt = factory([{"params": params[:2], **first}, {"params": params[2:], **second}])
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        for j, p in enumerate(params):
            if j == 3 and i % 7 == 3:
                p.grad = None  # skipped: no update, no state change
                continue
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            p.grad = noise + 0.3 * p.detach()
        opt.step()
    return [p.detach().clone() for p in params]


def assert_same(ours, ref, **tol):
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **tol)


def ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items())


DTYPES = [torch.float32, torch.float64]

ADAGRAD_OPTIONS = [
    dict(lr_decay=d, weight_decay=w, initial_accumulator_value=a, maximize=m)
    for d, w, a, m in itertools.product([0.0, 0.02], [0.0, 0.1], [0.0, 0.2], [False, True])
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", ADAGRAD_OPTIONS, ids=ids)
def test_adagrad_matches_torch(options, dtype):
    second = {"lr": 0.03, "eps": 1e-6, "lr_decay": 0.05}
    ours = run(lambda g: Adagrad(g, lr=0.1, eps=1e-10, **options), dtype, {}, second)
    ref = run(
        lambda g: torch.optim.Adagrad(g, lr=0.1, eps=1e-10, foreach=False, **options),
        dtype,
        {},
        second,
    )
    assert_same(ours, ref, **TOL[dtype])


ADADELTA_OPTIONS = [
    dict(rho=r, weight_decay=w, maximize=m)
    for r, w, m in itertools.product([0.9, 0.5], [0.0, 0.1], [False, True])
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", ADADELTA_OPTIONS, ids=ids)
def test_adadelta_matches_torch(options, dtype):
    second = {"lr": 0.3, "eps": 1e-4}
    ours = run(lambda g: Adadelta(g, lr=1.0, eps=1e-6, **options), dtype, {}, second)
    ref = run(
        lambda g: torch.optim.Adadelta(g, lr=1.0, eps=1e-6, foreach=False, **options),
        dtype,
        {},
        second,
    )
    assert_same(ours, ref, **TOL[dtype])


RMSPROP_OPTIONS = [
    dict(alpha=a, weight_decay=w, momentum=mu, centered=c)
    for a, w, mu, c in itertools.product([0.99, 0.8], [0.0, 0.1], [0.0, 0.9], [False, True])
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=ids)
def test_rmsprop_matches_torch(options, dtype):
    second = {"lr": 0.003, "eps": 1e-6}
    ours = run(lambda g: RMSprop(g, lr=0.01, eps=1e-8, **options), dtype, {}, second)
    ref = run(
        lambda g: torch.optim.RMSprop(g, lr=0.01, eps=1e-8, foreach=False, **options),
        dtype,
        {},
        second,
    )
    assert_same(ours, ref, **TOL[dtype])


def test_groups_with_different_options_match_torch():
    """One group centered with momentum and decay, the other plain: each follows torch."""
    first = {"momentum": 0.9, "centered": True, "weight_decay": 0.05}
    second = {"lr": 0.002, "alpha": 0.9}
    ours = run(lambda g: RMSprop(g, lr=0.01), torch.float64, first, second)
    ref = run(
        lambda g: torch.optim.RMSprop(g, lr=0.01, foreach=False), torch.float64, first, second
    )
    assert_same(ours, ref, **TOL[torch.float64])


T = torch.tensor


@pytest.mark.parametrize(
    ("name", "ours_factory", "torch_factory"),
    [
        (
            "Adagrad",
            lambda g: Adagrad(g, lr=T(0.05), lr_decay=T(0.01), weight_decay=T(0.1), eps=1e-10),
            lambda g: torch.optim.Adagrad(
                g, lr=0.05, lr_decay=0.01, weight_decay=0.1, eps=1e-10, foreach=False
            ),
        ),
        (
            "Adagrad-lr-only",  # tensor lr still takes the fused kernel
            lambda g: Adagrad(g, lr=T(0.05), eps=1e-10),
            lambda g: torch.optim.Adagrad(g, lr=0.05, eps=1e-10, foreach=False),
        ),
        (
            "Adadelta",
            lambda g: Adadelta(g, lr=T(0.5), rho=T(0.9), eps=T(1e-6), weight_decay=T(0.1)),
            lambda g: torch.optim.Adadelta(g, lr=0.5, weight_decay=0.1, foreach=False),
        ),
        (
            "RMSprop",
            lambda g: RMSprop(
                g, lr=T(0.01), alpha=T(0.9), weight_decay=T(0.1), momentum=T(0.5), centered=True
            ),
            lambda g: torch.optim.RMSprop(
                g, lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True, foreach=False
            ),
        ),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_tensor_hyperparameters_match_torch(name, ours_factory, torch_factory):
    """0-d float32 tensors (what schedulers write) give torch's trajectory too."""
    ours = run(ours_factory, torch.float64, {}, {})
    ref = run(torch_factory, torch.float64, {}, {})
    assert_same(ours, ref, **TENSOR_TOL)


def test_adagrad_foreach_path_matches_torch(monkeypatch):
    """The multi-tensor formulation (taken under torch.compile) also follows torch."""
    from waferopt.adaptive import functional as module

    def no_fused(*args, **kwargs):
        raise AssertionError("fused=False must not take the fused kernel")

    options = dict(lr=0.1, lr_decay=0.02, weight_decay=0.1, eps=1e-10, maximize=True)
    monkeypatch.setattr(module, "_fused_adagrad", no_fused)
    monkeypatch.setattr(module.F, "fused_supported", lambda params, kernel="sgd": False)
    ours = run(
        lambda g: Adagrad(g, initial_accumulator_value=0.1, **options),
        torch.float64,
        {},
        {},
    )
    monkeypatch.undo()
    ref = run(
        lambda g: torch.optim.Adagrad(g, initial_accumulator_value=0.1, foreach=False, **options),
        torch.float64,
        {},
        {},
    )
    # the lr_decay factor is computed in the params' dtype: float64 precision here
    assert_same(ours, ref, **TOL[torch.float64])


def test_adagrad_default_eps_is_cerebras():
    """Signature default eps=1e-6 (Cerebras), not torch's 1e-10."""
    assert Adagrad([torch.nn.Parameter(torch.zeros(1))]).defaults["eps"] == 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_cpu_chunking_and_splitting_match_torch(monkeypatch, dtype):
    """With tiny CPU chunks (tensors cut into flat views of 4 elements) nothing changes."""
    from waferopt.core import foreach as _foreach

    monkeypatch.setattr(_foreach, "CPU_CHUNK_BYTES", 32)
    for ours_factory, torch_factory in [
        (
            lambda g: Adadelta(g, weight_decay=0.1),
            lambda g: torch.optim.Adadelta(g, weight_decay=0.1, foreach=False),
        ),
        (
            lambda g: RMSprop(g, momentum=0.9, centered=True),
            lambda g: torch.optim.RMSprop(g, momentum=0.9, centered=True, foreach=False),
        ),
        (
            lambda g: Adagrad(g, lr=T(0.1, dtype=dtype), lr_decay=0.01, eps=1e-10),
            lambda g: torch.optim.Adagrad(g, lr=0.1, lr_decay=0.01, eps=1e-10, foreach=False),
        ),
    ]:
        ours = run(ours_factory, dtype, {}, {"lr": 0.02})
        ref = run(torch_factory, dtype, {}, {"lr": 0.02})
        assert_same(ours, ref, **(TENSOR_TOL if dtype == torch.float64 else TOL[dtype]))


# ---------------------------------------------------------------------- Adafactor
ADAFACTOR_STEPS = 50


def rms(t):
    return (t.norm(2) / (t.numel() ** 0.5)).item()


class HFAdafactorReference:
    """One-tensor-at-a-time transcription of transformers.Adafactor (beta1=None)."""

    def __init__(
        self,
        params,
        lr,
        eps=(1e-30, 1e-3),
        clip_threshold=1.0,
        decay_rate=-0.8,
        weight_decay=0.0,
        scale_parameter=True,
        relative_step=False,
        warmup_init=False,
    ):
        self.params = params
        self.o = dict(
            lr=lr,
            eps=eps,
            clip_threshold=clip_threshold,
            decay_rate=decay_rate,
            weight_decay=weight_decay,
            scale_parameter=scale_parameter,
            relative_step=relative_step,
            warmup_init=warmup_init,
        )
        self.state = {}
        for p in params:
            if p.dim() >= 2:
                self.state[p] = dict(
                    step=0,
                    row=torch.zeros(p.shape[:-1], dtype=p.dtype),
                    col=torch.zeros(p.shape[:-2] + p.shape[-1:], dtype=p.dtype),
                )
            else:
                self.state[p] = dict(step=0, v=torch.zeros_like(p))

    def lr_t(self, s, p):
        o = self.o
        rel = o["lr"]
        if o["relative_step"]:
            min_step = 1e-6 * s["step"] if o["warmup_init"] else 1e-2
            rel = min(min_step, 1.0 / math.sqrt(s["step"]))
        scale = max(o["eps"][1], rms(p)) if o["scale_parameter"] else 1.0
        return scale * rel

    @torch.no_grad()
    def step(self):
        o = self.o
        for p in self.params:
            if p.grad is None:
                continue
            g, s = p.grad, self.state[p]
            s["step"] += 1
            lr = self.lr_t(s, p)
            beta2t = 1.0 - math.pow(s["step"], o["decay_rate"])
            update = g**2 + o["eps"][0]
            if p.dim() >= 2:
                s["row"].mul_(beta2t).add_(update.mean(dim=-1), alpha=1.0 - beta2t)
                s["col"].mul_(beta2t).add_(update.mean(dim=-2), alpha=1.0 - beta2t)
                r = (s["row"] / s["row"].mean(dim=-1, keepdim=True)).rsqrt().unsqueeze(-1)
                c = s["col"].unsqueeze(-2).rsqrt()
                update = r * c * g
            else:
                s["v"].mul_(beta2t).add_(update, alpha=1.0 - beta2t)
                update = s["v"].rsqrt() * g
            update = update / max(rms(update) / o["clip_threshold"], 1.0)
            update = update * lr
            if o["weight_decay"] != 0:
                p.add_(p, alpha=-o["weight_decay"] * lr)
            p.add_(-update)


def adafactor_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),  # factored 2-D
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),  # unfactored
        torch.nn.Parameter(torch.randn(3, 4, 2, dtype=dtype)),  # factored 3-D
        torch.nn.Parameter(torch.randn(1, 7, dtype=dtype) * 1e-4),  # tiny: eps2 bound
    ]


def drive(opt, params, dtype, steps=ADAFACTOR_STEPS):
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        for p in params:
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            p.grad = noise * (1 + i % 3) + 0.3 * p.detach()
        opt.step()
    return [p.detach().clone() for p in params]


ADAFACTOR_TOL = {
    torch.float32: dict(rtol=1e-5, atol=1e-6),
    torch.float64: dict(rtol=1e-10, atol=1e-12),
}

OPTIONS = [
    dict(scale_parameter=True),
    dict(scale_parameter=False),
    dict(scale_parameter=True, weight_decay=0.1),
    dict(scale_parameter=False, weight_decay=0.1, decay_rate=-0.5),
    dict(scale_parameter=True, eps=(1e-20, 1e-2)),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())
)
def test_matches_huggingface_rule(options, dtype):
    ours_params, ref_params = adafactor_params(dtype), adafactor_params(dtype)
    ours = drive(Adafactor(ours_params, lr=0.01, **options), ours_params, dtype)
    ref = drive(HFAdafactorReference(ref_params, lr=0.01, **options), ref_params, dtype)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **ADAFACTOR_TOL[dtype])


@pytest.mark.parametrize(
    "edit",
    [
        dict(clip_threshold=0.5),
        dict(relative_step=True),
        dict(relative_step=True, warmup_init=True),
        dict(relative_step=True, scale_parameter=False),
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_group_edits_follow_huggingface_rule(edit):
    """The constructor rejects these (Cerebras), but step() implements HuggingFace's rule."""
    dtype = torch.float64
    ours_params, ref_params = adafactor_params(dtype), adafactor_params(dtype)
    opt = Adafactor(ours_params, lr=0.01)
    opt.param_groups[0].update(edit)
    ref_options = {"scale_parameter": True, **edit}
    ours = drive(opt, ours_params, dtype)
    ref = drive(HFAdafactorReference(ref_params, lr=0.01, **ref_options), ref_params, dtype)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **ADAFACTOR_TOL[dtype])


def test_tensor_lr_and_weight_decay_match_numbers():
    dtype = torch.float64
    a_params, b_params = adafactor_params(dtype), adafactor_params(dtype)
    a = drive(
        Adafactor(
            a_params,
            lr=torch.tensor(0.01, dtype=dtype),
            weight_decay=torch.tensor(0.1, dtype=dtype),
        ),
        a_params,
        dtype,
    )
    b = drive(Adafactor(b_params, lr=0.01, weight_decay=0.1), b_params, dtype)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-14)


def test_state_shapes():
    params = adafactor_params(torch.float32)
    opt = Adafactor(params, lr=0.01)
    s = [opt.state[p] for p in params]
    assert set(s[0]) == {"exp_avg_sq_row", "exp_avg_sq_col", "step"}
    assert s[0]["exp_avg_sq_row"].shape == (6,) and s[0]["exp_avg_sq_col"].shape == (5,)
    assert set(s[1]) == {"exp_avg_sq", "step"} and s[1]["exp_avg_sq"].shape == (5,)
    assert s[2]["exp_avg_sq_row"].shape == (3, 4) and s[2]["exp_avg_sq_col"].shape == (3, 2)
    assert all(x["step"].dtype == torch.float32 and x["step"].dim() == 0 for x in s)


def test_bfloat16_params_update_in_float32():
    """Low-precision params: float32 state, update computed in float32, written back."""
    torch.manual_seed(0)
    p32 = torch.nn.Parameter(torch.randn(8, 4))
    p16 = torch.nn.Parameter(p32.detach().to(torch.bfloat16))
    o32, o16 = Adafactor([p32], lr=0.01), Adafactor([p16], lr=0.01)
    assert o16.state[p16]["exp_avg_sq_row"].dtype == torch.float32
    g = torch.randn(8, 4)
    p32.grad, p16.grad = g.to(torch.bfloat16).float(), g.to(torch.bfloat16)
    p32.data = p16.detach().float().clone()
    o32.step()
    o16.step()
    torch.testing.assert_close(p16.detach().float(), p32.detach().to(torch.bfloat16).float())


def test_lr_is_required():
    with pytest.raises(TypeError):
        Adafactor([torch.nn.Parameter(torch.zeros(2))])  # type: ignore[call-arg]


def test_trains_a_small_model():
    torch.manual_seed(0)
    x = torch.randn(128, 8)
    y = x @ torch.randn(8, 3) + 0.1 * torch.randn(128, 3)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    opt = Adafactor(model.parameters(), lr=0.05)
    first = None
    for _ in range(200):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


# ---------------------------------------------------------------------- functional kernels
SHAPES = ((4, 3), (3,), (2, 3, 2))


def params_and_grads(seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in SHAPES]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)
    return params


def kernel_call(name, params, grads, state, steps):
    if name == "Adadelta":
        functional.adadelta(
            params,
            grads,
            state["square_avg"],
            state["acc_delta"],
            lr=0.5,
            rho=0.9,
            eps=1e-6,
            weight_decay=0.1,
        )
    elif name == "Adagrad":
        functional.adagrad(
            params, grads, state["sum"], steps, lr=0.1, lr_decay=0.01, weight_decay=0.1, eps=1e-6
        )
    elif name == "RMSprop":
        functional.rmsprop(
            params,
            grads,
            state["square_avg"],
            state["grad_avg"],
            state["momentum_buffer"],
            lr=0.01,
            alpha=0.9,
            eps=1e-8,
            weight_decay=0.1,
            momentum=0.5,
        )
    else:
        functional.adafactor(
            params,
            grads,
            state["exp_avg_sq_row"],
            state["exp_avg_sq_col"],
            state["exp_avg_sq"],
            steps,
            lr=0.01,
            weight_decay=0.1,
        )


CLASSES = {
    "Adadelta": lambda ps: Adadelta(ps, lr=0.5, rho=0.9, eps=1e-6, weight_decay=0.1),
    "Adagrad": lambda ps: Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.1, eps=1e-6),
    "RMSprop": lambda ps: RMSprop(
        ps, lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True
    ),
    "Adafactor": lambda ps: Adafactor(ps, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_kernel_without_optimizer_matches_class(name):
    params = params_and_grads()
    opt = CLASSES[name](params)
    ours = params_and_grads()
    keys = {k for p in params for k in opt.state[p]} - {"step"}
    state = {
        k: [opt.state[p][k].clone() if k in opt.state[p] else None for p in params] for k in keys
    }
    state.setdefault("grad_avg", None)
    state.setdefault("momentum_buffer", None)
    steps = [torch.tensor(0.0) for _ in params]
    for _ in range(3):
        opt.step()
        torch._foreach_add_(steps, 1.0)  # kernels take the step already advanced
        with torch.no_grad():
            kernel_call(name, ours, [p.grad for p in ours], state, steps)
    for a, b in zip(params, ours):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
