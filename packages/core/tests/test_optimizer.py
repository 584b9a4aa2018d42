"""The base Optimizer contract: state up front, in-place steps, hooks, checkpoints."""

from __future__ import annotations

import pytest
import torch

from waferopt.core import Optimizer


class Momentum(Optimizer):
    """A minimal optimizer for the tests: heavy-ball momentum."""

    def __init__(self, params, lr=0.1, beta=0.9, enable_global_step=False):
        super().__init__(params, dict(lr=lr, beta=beta), enable_global_step)

    def preinitialize(self):
        for group in self.param_groups:
            for p in group["params"]:
                if "buf" not in self.state[p]:
                    self.state[p]["buf"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if self.enable_global_step:
                    self.increment_global_step(p)
                buf = self.state[p]["buf"]
                buf.mul_(group["beta"]).add_(p.grad)
                p.sub_(buf * group["lr"])


def params(n=2):
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(3, 2)) for _ in range(n)]


def set_grads(ps, seed=1):
    g = torch.Generator().manual_seed(seed)
    for p in ps:
        p.grad = torch.randn(p.shape, generator=g)


def storages(opt):
    return {
        (id(p), k): v.untyped_storage().data_ptr()
        for p, s in opt.state.items()
        for k, v in s.items()
        if isinstance(v, torch.Tensor)
    }


def test_state_exists_after_construction():
    """preinitialize runs in the constructor: every state tensor exists before step()."""
    ps = params()
    opt = Momentum(ps)
    assert all(set(opt.state[p]) == {"buf"} for p in ps)


def test_step_adds_no_state_and_keeps_storages():
    """step() updates state in place: same keys, same storages."""
    ps = params()
    opt = Momentum(ps, enable_global_step=True)
    before_keys = {id(p): set(s) for p, s in opt.state.items()}
    before = storages(opt)
    for seed in range(3):
        set_grads(ps, seed)
        opt.step()
    assert {id(p): set(s) for p, s in opt.state.items()} == before_keys
    assert storages(opt) == before


def test_global_step_counts_in_float32():
    """increment_global_step returns the float32 step, one per call."""
    ps = params(1)
    opt = Momentum(ps, enable_global_step=True)
    assert opt.state[ps[0]]["step"].dtype == torch.float32
    for _ in range(4):
        set_grads(ps)
        opt.step()
    assert opt.state[ps[0]]["step"].item() == 4.0
    assert opt.increment_global_step(ps[0]).item() == 5.0


def test_increment_without_global_step_raises():
    """Without enable_global_step there is no counter to increment."""
    ps = params(1)
    with pytest.raises(RuntimeError, match="enable_global_step=True"):
        Momentum(ps).increment_global_step(ps[0])


def test_add_param_group_preinitializes_new_params():
    """A group added after construction gets its state at once."""
    opt = Momentum(params(1), enable_global_step=True)
    extra = torch.nn.Parameter(torch.ones(4))
    opt.add_param_group({"params": [extra], "lr": 0.5})
    assert set(opt.state[extra]) == {"buf", "step"}


def test_tags_are_normalized_to_sets():
    """A group's tags become a set (a scalar becomes a one-element set)."""
    a, b = params()
    opt = Momentum([{"params": [a], "tags": ["x", "y"]}, {"params": [b], "tags": "z"}])
    assert opt.param_groups[0]["tags"] == {"x", "y"}
    assert opt.param_groups[1]["tags"] == {"z"}


def test_zero_grad_hooks_run_in_order_and_can_be_removed():
    """Pre-hooks, then zero_grad, then post-hooks; a pre-hook may replace the arguments."""
    ps = params(1)
    opt = Momentum(ps)
    calls = []

    def pre(o, args, kwargs):
        calls.append(("pre", ps[0].grad is not None))
        return (), {"set_to_none": False}

    def post(o, args, kwargs):
        calls.append(("post", kwargs))

    h1 = opt.register_zero_grad_pre_hook(pre)
    h2 = opt.register_zero_grad_post_hook(post)
    set_grads(ps)
    opt.zero_grad()
    assert calls == [("pre", True), ("post", {"set_to_none": False})]
    assert ps[0].grad is not None and torch.count_nonzero(ps[0].grad) == 0
    h1.remove()
    h2.remove()
    calls.clear()
    set_grads(ps)
    opt.zero_grad()
    assert calls == [] and ps[0].grad is None


def test_zero_grad_pre_hook_bad_return_raises():
    """A pre-hook returning something other than None or (args, kwargs) is an error."""
    opt = Momentum(params(1))
    opt.register_zero_grad_pre_hook(lambda o, a, k: 42)
    with pytest.raises(RuntimeError, match="new_args, new_kwargs"):
        opt.zero_grad()


def test_apply_and_visit_state():
    """apply(f) calls f(self) or f.apply(self); visit_state replaces non-None results."""
    ps = params(1)
    opt = Momentum(ps)
    assert opt.apply(lambda o: o is opt)

    class Visitor:
        def apply(self, o):
            return "applied"

    assert opt.apply(Visitor()) == "applied"
    with pytest.raises(TypeError):
        opt.apply(3)
    opt.visit_state(lambda v: v + 1)
    assert torch.equal(opt.state[ps[0]]["buf"], torch.ones(3, 2))


def run(opt, ps, steps, start=0):
    for i in range(start, start + steps):
        set_grads(ps, i)
        opt.step()


def test_resume_is_bitwise_and_keeps_storages():
    """A state dict loaded into a fresh instance resumes bitwise, into the same storages."""
    ps = params()
    opt = Momentum(ps, enable_global_step=True)
    run(opt, ps, 3)
    saved = opt.state_dict()
    saved = {
        "state": {k: {n: t.clone() for n, t in v.items()} for k, v in saved["state"].items()},
        "param_groups": [dict(g) for g in saved["param_groups"]],
    }
    snapshot = [p.detach().clone() for p in ps]
    run(opt, ps, 3, start=3)

    ps2 = [torch.nn.Parameter(s.clone()) for s in snapshot]
    opt2 = Momentum(ps2, enable_global_step=True)
    before = storages(opt2)
    opt2.load_state_dict(saved)
    assert storages(opt2) == before
    run(opt2, ps2, 3, start=3)
    for a, b in zip(ps, ps2):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "parameter groups"),
        (lambda sd: sd["param_groups"][0]["params"].pop(), "parameters in the state dict"),
        (lambda sd: sd["state"][0].pop("buf"), "missing keys"),
        (lambda sd: sd["state"][0].update(extra=torch.zeros(1)), "unexpected keys"),
        (lambda sd: sd["state"][0].update(buf=torch.zeros(5)), "shape"),
    ],
)
def test_bad_state_dict_raises_and_keeps_old_state(mutate, message):
    """A state dict that does not fit raises ValueError and changes nothing."""
    ps = params()
    opt = Momentum(ps)
    run(opt, ps, 2)
    good = opt.state_dict()
    sd = {
        "state": {k: dict(v) for k, v in good["state"].items()},
        "param_groups": [dict(g, params=list(g["params"])) for g in good["param_groups"]],
    }
    for v in sd["state"].values():
        v["buf"] = v["buf"] + 100.0
    sd["param_groups"][0]["lr"] = 123.0
    mutate(sd)
    before = {id(p): opt.state[p]["buf"].clone() for p in ps}
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(sd)
    assert all(torch.equal(opt.state[p]["buf"], before[id(p)]) for p in ps)
    assert opt.param_groups[0]["lr"] == 0.1


def test_load_updates_tensor_hyperparameters_in_place():
    """A group holding lr as a tensor keeps that tensor; its value comes from the checkpoint."""
    ps = params(1)
    opt = Momentum(ps)
    lr = torch.tensor(0.5)
    opt.param_groups[0]["lr"] = lr
    sd = Momentum(params(1), lr=0.25).state_dict()
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] is lr and lr.item() == 0.25


def test_param_names_mismatch_is_reported():
    """Named parameters that differ between checkpoint and optimizer are named in the error."""
    model = torch.nn.Linear(2, 2)
    opt = Momentum(list(model.named_parameters()))
    sd = opt.state_dict()
    sd["param_groups"][0]["param_names"] = ["weight", "other"]
    with pytest.raises(ValueError, match="other"):
        opt.load_state_dict(sd)


def test_plain_iterable_params_empty_is_error():
    """torch's own check: an empty parameter list is a ValueError."""
    with pytest.raises(ValueError, match="empty"):
        Momentum([])


def test_pickling_keeps_attributes_and_hooks_work():
    """deepcopy / pickle keep enable_global_step; zero_grad hooks start empty and work."""
    import copy

    ps = params(1)
    opt = Momentum(ps, enable_global_step=True)
    opt.register_zero_grad_pre_hook(lambda o, a, k: None)
    clone = copy.deepcopy(opt)
    assert clone.enable_global_step is True
    assert len(clone._optimizer_zero_grad_pre_hooks) == 0
    clone.zero_grad()
    [p] = clone.param_groups[0]["params"]
    p.grad = torch.ones_like(p)
    clone.step()
    assert clone.state[p]["step"].item() == 1.0
