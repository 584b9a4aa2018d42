"""Checkpoints: torch.optim / HuggingFace state dicts load and resume on the same
trajectory; a model of another shape is refused; the step comes back from the beta
powers, late in training too. (Our own state dicts' bitwise resume and the state dicts
that do not fit are the conformance kit's: test_conformance.py.)

Foreign sources run with eps=0 where the comparison must be exact: eps is the one
place where the rules differ (ours adds it before the bias correction, see
test_references.py), and at eps=0 they coincide.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch

from waferopt.adam import Adam, AdamW

SHAPES = [(4, 3), (5,), (2, 2, 2)]


def params(seed: int = 0, dtype=torch.float64) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=dtype).requires_grad_() for s in SHAPES]


def set_grads(ps, step, skip=()):
    gen = torch.Generator().manual_seed(500 + step)
    for i, p in enumerate(ps):
        g = torch.randn(p.shape, generator=gen, dtype=p.dtype)
        p.grad = None if i in skip else g


def clone(ps):
    return [p.detach().clone().requires_grad_() for p in ps]


def run(opt, ps, steps, start=1, skip=()):
    for step in range(start, start + steps):
        set_grads(ps, step, skip)
        opt.step()


def assert_params_close(a, b, rtol=1e-11, atol=1e-13):
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------- torch.optim sources
TORCH_SOURCES = {
    "torch.Adam": lambda ps, **kw: torch.optim.Adam(ps, foreach=False, **kw),
    "torch.Adam(decoupled)": lambda ps, **kw: torch.optim.Adam(
        ps, foreach=False, decoupled_weight_decay=True, **kw
    ),
    "torch.AdamW": lambda ps, **kw: torch.optim.AdamW(ps, foreach=False, **kw),
    "torch.AdamW(fused)": lambda ps, **kw: torch.optim.AdamW(ps, fused=True, **kw),
}


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("target", [Adam, AdamW])
@pytest.mark.parametrize("source", list(TORCH_SOURCES))
def test_torch_checkpoint_resumes_on_the_torch_trajectory(source, target, amsgrad):
    kw = dict(lr=1e-2, betas=(0.8, 0.99), eps=0.0, weight_decay=0.1, amsgrad=amsgrad)
    src_params = params()
    src = TORCH_SOURCES[source](src_params, **kw)
    run(src, src_params, 7)
    sd = copy.deepcopy(src.state_dict())
    sd_before = copy.deepcopy(sd)

    ours_params = clone(src_params)
    ours = target(ours_params, lr=0.5, betas=(0.5, 0.5), eps=0.0, amsgrad=amsgrad)
    ours.load_state_dict(sd)
    # the conversion is pure
    assert str(sd) == str(sd_before)
    # no off-by-one: the powers are those the next (8th) step uses
    for p in ours_params:
        torch.testing.assert_close(ours.state[p]["beta1_power"].item(), 0.8**8, rtol=1e-6, atol=0)
        torch.testing.assert_close(ours.state[p]["beta2_power"].item(), 0.99**8, rtol=1e-6, atol=0)
    group = ours.param_groups[0]
    assert group["lr"] == 1e-2 and tuple(group["betas"]) == (0.8, 0.99)
    assert "foreach" not in group and "fused" not in group and "maximize" not in group
    decoupled = source != "torch.Adam"
    assert group["weight_decay"] == (0.1 if decoupled else 0.0)
    assert group["l2_regularization_rate"] == (0.0 if decoupled else 0.1)

    run(src, src_params, 10, start=8)
    run(ours, ours_params, 10, start=8)
    assert_params_close(ours_params, src_params, rtol=1e-9, atol=1e-11)


def test_torch_checkpoint_with_eps_resumes_with_our_eps_placement():
    """With eps > 0, torch's resumed run equals ours once torch's eps follows ε/√(1-β2^t)."""
    eps = 1e-3
    src_params = params()
    src = torch.optim.AdamW(src_params, lr=1e-2, eps=eps, foreach=False)
    for step in range(1, 6):
        src.param_groups[0]["eps"] = eps / math.sqrt(1 - 0.999**step)
        set_grads(src_params, step)
        src.step()
    sd = src.state_dict()
    ours_params = clone(src_params)
    ours = AdamW(ours_params, lr=1e-2, eps=eps, weight_decay=1e-2)
    ours.load_state_dict(sd)
    ours.param_groups[0]["eps"] = eps
    for step in range(6, 16):
        src.param_groups[0]["eps"] = eps / math.sqrt(1 - 0.999**step)
        set_grads(src_params, step)
        src.step()
        set_grads(ours_params, step)
        ours.step()
    assert_params_close(ours_params, src_params, rtol=1e-9, atol=1e-11)


def test_torch_checkpoint_with_unstepped_param_gets_fresh_state():
    """torch keeps no state for a param that never had a grad; ours starts it fresh."""
    src_params = params()
    src = torch.optim.Adam(src_params, lr=1e-2, eps=0.0, foreach=False)
    run(src, src_params, 4, skip=(1,))
    assert len(src.state_dict()["state"]) == 2
    ours_params = clone(src_params)
    ours = Adam(ours_params, lr=1e-2, eps=0.0, enable_global_step=True)
    ours.load_state_dict(src.state_dict())
    assert ours.state[ours_params[1]]["step"].item() == 0.0
    assert ours.state[ours_params[0]]["step"].item() == 4.0
    torch.testing.assert_close(
        ours.state[ours_params[1]]["beta1_power"].item(), 0.9, rtol=1e-6, atol=0
    )
    run(src, src_params, 6, start=5)
    run(ours, ours_params, 6, start=5)
    assert_params_close(ours_params, src_params, rtol=1e-9, atol=1e-11)


def test_torch_checkpoint_with_maximize_is_refused():
    src_params = params()
    src = torch.optim.Adam(src_params, maximize=True, foreach=False)
    run(src, src_params, 2)
    ours = Adam(clone(src_params))
    with pytest.raises(ValueError, match="maximize"):
        ours.load_state_dict(src.state_dict())


def test_torch_amsgrad_checkpoint_into_non_amsgrad_is_refused():
    src_params = params()
    src = torch.optim.Adam(src_params, amsgrad=True, foreach=False)
    run(src, src_params, 2)
    ours = Adam(clone(src_params))
    before = copy.deepcopy(ours.state_dict())
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        ours.load_state_dict(src.state_dict())
    assert str(ours.state_dict()) == str(before)


# ---------------------------------------------------------------------- HuggingFace AdamW
class HFAdamW:
    """transformers.AdamW (v4, deprecated class), written from its source semantics.

    step: m, v as Adam; step_size = lr·√(1-β2^t)/(1-β1^t) if correct_bias else lr;
    θ -= step_size · m/(√v + eps); then θ -= lr·wd·θ (on the *updated* θ).
    State: ``step`` (int), ``exp_avg``, ``exp_avg_sq``; groups carry ``correct_bias``.
    """

    def __init__(
        self, ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, correct_bias=True
    ):
        self.params = ps
        self.group = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, correct_bias=correct_bias
        )
        self.state = {}

    @torch.no_grad()
    def step(self):
        g = self.group
        beta1, beta2 = g["betas"]
        for p in self.params:
            st = self.state.setdefault(
                p, {"step": 0, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
            )
            st["step"] += 1
            st["exp_avg"].mul_(beta1).add_(p.grad, alpha=1.0 - beta1)
            st["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1.0 - beta2)
            denom = st["exp_avg_sq"].sqrt().add_(g["eps"])
            step_size = g["lr"]
            if g["correct_bias"]:
                t = st["step"]
                step_size = step_size * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
            p.addcdiv_(st["exp_avg"], denom, value=-step_size)
            if g["weight_decay"] > 0.0:
                p.add_(p, alpha=-g["lr"] * g["weight_decay"])

    def state_dict(self):
        return {
            "state": {i: copy.deepcopy(self.state[p]) for i, p in enumerate(self.params)},
            "param_groups": [{**self.group, "params": list(range(len(self.params)))}],
        }


@pytest.mark.parametrize("correct_bias", [True, False])
def test_hf_adamw_checkpoint_resumes_on_the_hf_trajectory(correct_bias):
    src_params = params()
    src = HFAdamW(src_params, lr=1e-2, eps=1e-3, correct_bias=correct_bias)
    run(src, src_params, 6)
    ours_params = clone(src_params)
    ours = AdamW(ours_params, correct_bias=correct_bias)
    ours.load_state_dict(src.state_dict())  # no KeyError on amsgrad / correct_bias
    group = ours.param_groups[0]
    assert group["amsgrad"] is False and group["correct_bias"] is correct_bias
    assert group["eps"] == 1e-3 and group["l2_regularization_rate"] == 0.0
    run(src, src_params, 10, start=7)
    run(ours, ours_params, 10, start=7)
    assert_params_close(ours_params, src_params, rtol=1e-9, atol=1e-11)


def test_hf_adamw_checkpoint_with_weight_decay_stays_within_the_decay_order_gap():
    """HF decays the updated θ, ours (and torch) the θ before the update: an O(η²λ) gap."""
    src_params = params()
    src = HFAdamW(src_params, lr=1e-2, weight_decay=0.1)
    run(src, src_params, 6)
    ours_params = clone(src_params)
    ours = AdamW(ours_params)
    ours.load_state_dict(src.state_dict())
    run(src, src_params, 10, start=7)
    run(ours, ours_params, 10, start=7)
    gap = max((a - b).abs().max().item() for a, b in zip(ours_params, src_params))
    assert 0.0 < gap < 10 * (1e-2**2 * 0.1) * 1.0


# ---------------------------------------------------------------------- own state dicts
# Bitwise resume of our own state dicts and the state dicts that do not fit (fewer
# parameters, more groups, another shape, a missing or unexpected key: ValueError,
# nothing changed, later steps as a twin's) are the conformance kit's checks, run on
# every configuration of test_conformance.py.


def _trained(factory=lambda ps: AdamW(ps, lr=1e-2)):
    ps = params()
    opt = factory(ps)
    run(opt, ps, 3)
    return opt, ps


def test_state_dict_from_another_shape_of_model_is_refused():
    src, _ = _trained()
    other = AdamW([torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)])
    with pytest.raises(ValueError, match="parameter"):
        other.load_state_dict(src.state_dict())


# ---------------------------------------------------------------------- host step mirror
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.999, 0.9999, 0.99999])
def test_step_is_recovered_from_closed_form_float32_powers(beta):
    """The step number comes back from ``beta*_power`` = fl32(β^t): exactly while the
    power is a normal float32, and where it has underflowed (or β is 0) every bias
    correction is exactly 1 in double anyway."""
    from waferopt.adam.functional import steps_from_powers

    ts = sorted({*range(1, 200), *range(200, 300_000, 997)})
    powers = list(torch.tensor([beta**t for t in ts], dtype=torch.float32).unbind(0))
    got = steps_from_powers([(powers, beta)]).tolist()
    for t, p, g in zip(ts, powers, got):
        if beta > 0.0 and p.item() > 1.2e-38:
            assert g == t, (t, p, g)
        else:
            assert 1.0 - beta**g == 1.0 - beta**t


def test_resume_at_a_late_step_with_beta2_close_to_one_is_bit_for_bit():
    ps = params()
    opt = AdamW(ps, lr=1e-3, betas=(0.99, 0.99995), weight_decay=0.1)
    # fast-forward: pretend 4321 steps were taken (the state a checkpoint would hold)
    sd = copy.deepcopy(opt.state_dict())
    for st in sd["state"].values():
        st["beta1_power"].fill_(0.99**4322)
        st["beta2_power"].fill_(0.99995**4322)
    opt.load_state_dict(sd)
    twin_ps = clone(ps)
    twin = AdamW(twin_ps, lr=1e-3, betas=(0.99, 0.99995), weight_decay=0.1)
    twin.load_state_dict(copy.deepcopy(opt.state_dict()))
    run(opt, ps, 3)
    resumed_ps = clone(ps)
    resumed = AdamW(resumed_ps, lr=1e-3, betas=(0.99, 0.99995), weight_decay=0.1)
    resumed.load_state_dict(copy.deepcopy(opt.state_dict()))
    run(opt, ps, 4, start=4)
    run(resumed, resumed_ps, 4, start=4)
    for a, b in zip(ps, resumed_ps):
        assert torch.equal(a, b)
    # the powers went on from step 4322 (closed form, so the next load finds the step again)
    run(twin, twin_ps, 7)
    for p in twin_ps:
        torch.testing.assert_close(
            twin.state[p]["beta2_power"].item(), 0.99995**4329, rtol=1e-6, atol=0
        )
