"""The static-step contract, checkpoints, validation and plugin of waferopt-adaptive."""

from __future__ import annotations

import copy

import pytest
import torch

from waferopt.adaptive import Adadelta, Adafactor, Adagrad, RMSprop

# (name, factory, keys every param's state has right after construction)
OPTIMIZERS = [
    (
        "Adadelta",
        lambda ps, **kw: Adadelta(ps, weight_decay=0.01, **kw),
        {"square_avg", "acc_delta"},
    ),
    ("Adagrad", lambda ps, **kw: Adagrad(ps, lr_decay=0.01, **kw), {"sum", "step"}),
    (
        "RMSprop",
        lambda ps, **kw: RMSprop(ps, momentum=0.9, centered=True, **kw),
        {"square_avg", "momentum_buffer", "grad_avg"},
    ),
    ("RMSprop-plain", lambda ps, **kw: RMSprop(ps, **kw), {"square_avg"}),
    ("Adafactor", lambda ps, **kw: Adafactor(ps, lr=0.01, weight_decay=0.01, **kw), None),
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
    if keys is not None:
        assert all(set(opt.state[p]) == keys for p in params)
    before = snapshot(opt)
    assert before
    for seed in range(3):
        set_grads(params, seed)
        opt.step()
    assert snapshot(opt) == before  # same keys, same storages, shapes and dtypes


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
    assert opt.state[extra] and all(isinstance(v, torch.Tensor) for v in opt.state[extra].values())


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_global_step_is_float32_and_counts_steps(name, factory, keys):
    params = make_params()
    opt = factory(params, enable_global_step=True)
    for seed in range(4):
        set_grads(params, seed)
        opt.step()
    for p in params:
        step = opt.state[p]["step"]
        assert step.dtype == torch.float32 and step.dim() == 0 and step.item() == 4.0


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_state_dict_resumes_bitwise(name, factory, keys):
    """Run 3 steps, save, load into a fresh instance: the next 3 steps are identical."""
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
    bad = copy.deepcopy(before)
    next(iter(bad["state"].values()))["unexpected"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected"):
        opt.load_state_dict(bad)
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

    loss = opt.step(closure)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad
    assert params[1].grad is None and torch.equal(params[1].detach(), frozen)


@pytest.mark.parametrize(("name", "factory", "keys"), OPTIMIZERS, ids=IDS)
def test_sparse_gradient_raises(name, factory, keys):
    params = make_params()
    opt = factory(params)
    params[0].grad = torch.randn(4, 3).to_sparse()
    with pytest.raises(ValueError, match="sparse"):
        opt.step()


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (Adadelta, dict(lr=-1.0), "lr"),
        (Adadelta, dict(rho=1.5), "rho"),
        (Adadelta, dict(rho=-0.1), "rho"),
        (Adadelta, dict(eps=-1e-6), "eps"),
        (Adadelta, dict(weight_decay=-0.1), "weight_decay"),
        (Adagrad, dict(lr=-1.0), "lr"),
        (Adagrad, dict(lr=torch.tensor(-1.0)), "lr"),
        (Adagrad, dict(lr_decay=-0.1), "lr_decay"),
        (Adagrad, dict(weight_decay=-0.1), "weight_decay"),
        (Adagrad, dict(initial_accumulator_value=-0.1), "initial_accumulator_value"),
        (Adagrad, dict(eps=-1e-6), "eps"),
        (Adagrad, dict(enable_global_step=False), "enable_global_step"),
        (RMSprop, dict(lr=-1.0), "lr"),
        (RMSprop, dict(alpha=1.5), "alpha"),
        (RMSprop, dict(eps=-1e-8), "eps"),
        (RMSprop, dict(weight_decay=-0.1), "weight_decay"),
        (RMSprop, dict(momentum=-0.9), "momentum"),
        (RMSprop, dict(lr="1e-3"), "lr"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls([torch.nn.Parameter(torch.zeros(2))], **kwargs)


@pytest.mark.parametrize("cls", [Adadelta, Adagrad, RMSprop, lambda ps: Adafactor(ps, lr=0.1)])
def test_empty_parameter_list_raises(cls):
    with pytest.raises(ValueError, match="empty"):
        cls([])


def test_signatures_and_defaults_are_cerebras():
    import inspect

    def sig(cls):
        return {
            k: (v.default, v.kind.name)
            for k, v in inspect.signature(cls).parameters.items()
            if k != "params"
        }

    kw = "KEYWORD_ONLY"
    pk = "POSITIONAL_OR_KEYWORD"
    assert sig(Adadelta) == {
        "lr": (1.0, pk),
        "rho": (0.9, pk),
        "eps": (1e-6, pk),
        "weight_decay": (0, pk),
        "maximize": (False, pk),
        "enable_global_step": (False, kw),
    }
    assert sig(Adagrad) == {
        "lr": (1e-2, pk),
        "lr_decay": (0, pk),
        "weight_decay": (0, pk),
        "initial_accumulator_value": (0, pk),
        "eps": (1e-6, pk),
        "maximize": (False, pk),
        "enable_global_step": (True, kw),
    }
    assert sig(RMSprop) == {
        "lr": (1e-2, pk),
        "alpha": (0.99, pk),
        "eps": (1e-8, pk),
        "weight_decay": (0, pk),
        "momentum": (0, pk),
        "centered": (False, pk),
        "enable_global_step": (False, kw),
    }
    empty = inspect.Parameter.empty
    assert sig(Adafactor) == {
        "lr": (empty, pk),
        "eps": ((1e-30, 1e-3), pk),
        "clip_threshold": (1.0, pk),
        "decay_rate": (-0.8, pk),
        "beta1": (None, pk),
        "weight_decay": (0.0, pk),
        "scale_parameter": (True, pk),
        "relative_step": (False, pk),
        "warmup_init": (False, pk),
        "enable_global_step": (True, kw),
    }


def test_rmsprop_refuses_momentum_switched_on_after_construction():
    params = make_params()
    opt = RMSprop(params)
    opt.param_groups[0]["momentum"] = 0.9
    set_grads(params, 0)
    with pytest.raises(RuntimeError, match="momentum"):
        opt.step()


def test_plugin_registers_the_four_optimizers():
    from importlib.metadata import entry_points

    from waferopt.adaptive import _plugin

    (ep,) = [e for e in entry_points(group="waferopt") if e.name == "adaptive"]
    assert ep.load() is _plugin
    records = _plugin.register_optimizers()
    assert {r.name: r.load() for r in records} == {
        "Adadelta": Adadelta,
        "Adagrad": Adagrad,
        "Adafactor": Adafactor,
        "RMSprop": RMSprop,
    }
    assert all(r.kind.value == "optimizer" and r.description for r in records)


@pytest.mark.compile
@pytest.mark.parametrize(
    "factory",
    [
        lambda ps, lr: Adagrad(ps, lr=lr, lr_decay=0.01, weight_decay=0.01),
        lambda ps, lr: RMSprop(ps, lr=lr, momentum=0.9, centered=True),
        lambda ps, lr: Adadelta(ps, lr=lr),
        lambda ps, lr: Adafactor(ps, lr=lr, weight_decay=0.01),
    ],
    ids=["Adagrad", "RMSprop", "Adadelta", "Adafactor"],
)
def test_compiled_step_compiles_once_with_tensor_lr(factory):
    """fullgraph=True (no graph break), one compilation while the tensor lr changes."""
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
