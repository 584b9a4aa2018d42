"""The static-step contract, checkpoints, validation and plugin of waferopt-sign."""

from __future__ import annotations

import copy
import inspect

import pytest
import torch

from waferopt.sign import Lion, Rprop

OPTIMIZERS = [
    ("Lion", lambda ps, **kw: Lion(ps, lr=1e-2, weight_decay=0.1, **kw), {"exp_avg"}),
    ("Rprop", lambda ps, **kw: Rprop(ps, lr=1e-2, **kw), {"prev", "step_size"}),
]
IDS = [o[0] for o in OPTIMIZERS]


def make_params():
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))]


def set_grads(params, seed):
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)


def snapshot(opt):
    return {
        (i, k): (v.data_ptr(), v.shape, v.dtype)
        for i, p in enumerate(opt.param_groups[0]["params"])
        for k, v in opt.state[p].items()
    }


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_state_exists_after_construction_and_step_keeps_it(name, factory, keys):
    params = make_params()
    opt = factory(params)
    assert all(set(opt.state[p]) == keys for p in params)
    before = snapshot(opt)
    for seed in range(3):
        set_grads(params, seed)
        opt.step()
    assert snapshot(opt) == before


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_preinitialize_is_idempotent_and_add_param_group_creates_state(name, factory, keys):
    params = make_params()
    opt = factory(params)
    set_grads(params, 0)
    opt.step()
    before = {k: v.clone() for k, v in opt.state[params[0]].items()}
    opt.preinitialize()
    assert all(torch.equal(opt.state[params[0]][k], v) for k, v in before.items())
    extra = torch.nn.Parameter(torch.randn(2, 2))
    opt.add_param_group({"params": [extra]})
    assert set(opt.state[extra]) == keys


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_global_step_is_float32_and_counts_steps(name, factory, keys):
    params = make_params()
    opt = factory(params, enable_global_step=True)
    assert set(opt.state[params[0]]) == keys | {"step"}
    for seed in range(4):
        set_grads(params, seed)
        opt.step()
    for p in params:
        step = opt.state[p]["step"]
        assert step.dtype == torch.float32 and step.dim() == 0 and step.item() == 4.0


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_state_dict_resumes_bitwise(name, factory, keys):
    params = make_params()
    opt = factory(params)
    for seed in range(3):
        set_grads(params, seed)
        opt.step()
    saved_params = [p.detach().clone() for p in params]
    sd = copy.deepcopy(opt.state_dict())
    for seed in range(3, 6):
        set_grads(params, seed)
        opt.step()
    resumed = [torch.nn.Parameter(p.clone()) for p in saved_params]
    fresh = factory(resumed)
    fresh.load_state_dict(sd)
    for seed in range(3, 6):
        set_grads(resumed, seed)
        fresh.step()
    for a, b in zip(params, resumed):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_state_dict_that_does_not_fit_raises_and_keeps_state(name, factory, keys):
    params = make_params()
    opt = factory(params)
    set_grads(params, 0)
    opt.step()
    before = copy.deepcopy(opt.state_dict())
    other = factory([torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))])
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    after = opt.state_dict()
    for i, s in before["state"].items():
        for k, v in s.items():
            assert torch.equal(after["state"][i][k], v)


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_closure_and_params_without_grad(name, factory, keys):
    params = make_params()
    opt = factory(params)
    frozen = params[1].detach().clone()

    def closure():
        opt.zero_grad()
        loss = params[0].square().sum()
        loss.backward()
        return loss

    assert opt.step(closure) is not None
    assert torch.equal(params[1].detach(), frozen)


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_sparse_gradient_raises(name, factory, keys):
    params = make_params()
    opt = factory(params)
    params[0].grad = torch.randn(4, 3).to_sparse()
    with pytest.raises(ValueError, match="sparse"):
        opt.step()


@pytest.mark.parametrize("cls", [Lion, Rprop])
def test_empty_parameter_list_raises(cls):
    with pytest.raises(ValueError, match="empty"):
        cls([])


def test_signatures_and_defaults_are_cerebras():
    def sig(cls):
        return {
            k: (v.default, v.kind.name)
            for k, v in inspect.signature(cls).parameters.items()
            if k != "params"
        }

    pk, kw = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"
    assert sig(Lion) == {
        "lr": (1e-4, pk),
        "betas": ((0.9, 0.99), pk),
        "weight_decay": (0.0, pk),
        "enable_global_step": (False, kw),
    }
    assert sig(Rprop) == {
        "lr": (1e-3, pk),
        "etas": ((0.5, 1.2), pk),
        "step_sizes": ((1e-6, 50.0), pk),
        "enable_global_step": (False, kw),
    }


def test_plugin_registers_both_optimizers():
    from importlib.metadata import entry_points

    from waferopt.sign import _plugin

    (ep,) = [e for e in entry_points(group="waferopt") if e.name == "sign"]
    assert ep.load() is _plugin
    records = _plugin.register_optimizers()
    assert {r.name: r.load() for r in records} == {"Lion": Lion, "Rprop": Rprop}
    assert all(r.kind.value == "optimizer" and r.description for r in records)


@pytest.mark.compile
@pytest.mark.parametrize(
    "factory",
    [lambda ps, lr: Lion(ps, lr=lr, weight_decay=0.1), lambda ps, lr: Rprop(ps, lr=lr)],
    ids=["Lion", "Rprop"],
)
def test_compiled_step_compiles_once_with_tensor_lr(factory):
    """fullgraph=True (Rprop's sign logic has no data-dependent branch), one compilation."""
    dynamo = pytest.importorskip("torch._dynamo")
    from torch._dynamo.testing import CompileCounter

    dynamo.reset()
    params, eager_params = make_params(), make_params()
    lr, eager_lr = torch.tensor(0.01), torch.tensor(0.01)
    opt, eager = factory(params, lr), factory(eager_params, eager_lr)
    counter = CompileCounter()
    step = torch.compile(opt.step, backend=counter, fullgraph=True)
    for seed in range(3):
        set_grads(params, seed)
        set_grads(eager_params, seed)
        step()
        eager.step()
        lr.fill_(lr * 0.5)
        eager_lr.fill_(eager_lr * 0.5)
    assert counter.frame_count == 1
    for a, b in zip(params, eager_params):
        torch.testing.assert_close(a, b)
