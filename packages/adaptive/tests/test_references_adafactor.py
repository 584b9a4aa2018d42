"""Adafactor against a reference written here from HuggingFace ``transformers.Adafactor``.

The reference (``hf_adafactor_step``) transcribes the HuggingFace rule with Python
floats and one tensor at a time (beta1=None): RMS of the parameter before the update,
beta2_t = 1 - t**decay_rate, G = g^2 + eps1, the factored row/column moments for
ndim >= 2 (incl. 3-D, where the factorisation is over the last two dimensions),
u / max(1, RMS(u) / clip_threshold), decay -weight_decay * lr_t on the parameter, and
the relative step min(1e-6 t if warmup_init else 1e-2, 1/sqrt(t)).

Tolerances: float64 1e-10 relative (ours computes every per-step scalar as a tensor,
the reference in Python floats); float32 1e-5.
"""

from __future__ import annotations

import math

import pytest
import torch

from waferopt.adaptive import Adafactor

STEPS = 50


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


def make_params(dtype):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(6, 5, dtype=dtype)),  # factored 2-D
        torch.nn.Parameter(torch.randn(5, dtype=dtype)),  # unfactored
        torch.nn.Parameter(torch.randn(3, 4, 2, dtype=dtype)),  # factored 3-D
        torch.nn.Parameter(torch.randn(1, 7, dtype=dtype) * 1e-4),  # tiny: eps2 bound
    ]


def drive(opt, params, dtype, steps=STEPS):
    gen = torch.Generator().manual_seed(1)
    for i in range(steps):
        for p in params:
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
            p.grad = noise * (1 + i % 3) + 0.3 * p.detach()
        opt.step()
    return [p.detach().clone() for p in params]


TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}

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
    ours_params, ref_params = make_params(dtype), make_params(dtype)
    ours = drive(Adafactor(ours_params, lr=0.01, **options), ours_params, dtype)
    ref = drive(HFAdafactorReference(ref_params, lr=0.01, **options), ref_params, dtype)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[dtype])


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
    ours_params, ref_params = make_params(dtype), make_params(dtype)
    opt = Adafactor(ours_params, lr=0.01)
    opt.param_groups[0].update(edit)
    ref_options = {"scale_parameter": True, **edit}
    ours = drive(opt, ours_params, dtype)
    ref = drive(HFAdafactorReference(ref_params, lr=0.01, **ref_options), ref_params, dtype)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_tensor_lr_and_weight_decay_match_numbers():
    dtype = torch.float64
    a_params, b_params = make_params(dtype), make_params(dtype)
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
    params = make_params(torch.float32)
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


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(lr=0.01, relative_step=True), "relative_step"),
        (dict(lr=None, relative_step=True), "relative_step"),
        (dict(lr=0.01, warmup_init=True), "warmup_init"),
        (dict(lr=0.01, clip_threshold=0.5), "clip_threshold"),
        (dict(lr=0.01, beta1=0.9), "beta1"),
        (dict(lr=0.01, eps=("1e-30", 1e-3)), "eps"),
        (dict(lr=0.01, eps=1e-30), "eps"),
        (dict(lr=0.01, eps=(1e-30,)), "eps"),
        (dict(lr=0.01, eps=(-1.0, 1e-3)), "eps"),
        (dict(lr=None), "lr"),
        (dict(lr=-0.1), "lr"),
        (dict(lr=0.01, weight_decay=-1.0), "weight_decay"),
        (dict(lr=0.01, enable_global_step=False), "enable_global_step"),
    ],
)
def test_cerebras_constructor_errors(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Adafactor([torch.nn.Parameter(torch.zeros(2, 2))], **kwargs)


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
