"""The waferopt conformance kit over the Adam family (waferopt.core.testing): among its
checks, argument errors, bitwise resume of our own state dicts (float32 and float64,
mixed step counts, numbers and tensor hyperparameters, two groups) and state dicts that
do not fit. Then the public contract the kit does not cover: signatures, errors naming
the param group, the static-step rules, the plugin, and the compiled step."""

from __future__ import annotations

import copy
import inspect
from importlib.metadata import entry_points

import pytest
import torch

from waferopt.adam import Adam, Adamax, AdamBase, AdamW, Lamb, NAdam, RAdam
from waferopt.core import Kind
from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests

COMMON_ERRORS = [
    ErrorInput({"lr": -1.0}, match="lr"),
    ErrorInput({"lr": -1e-3}, match="lr"),
    ErrorInput({"lr": torch.tensor(-1.0)}, match="lr"),
    ErrorInput({"betas": (1.0, 0.999)}, match="betas"),
    ErrorInput({"betas": (1.0, 0.999)}, match="index 0"),
    ErrorInput({"betas": (0.9, 1.5)}, match="index 1"),
    ErrorInput({"betas": (0.9, -0.1)}, match="index 1"),
    ErrorInput({"betas": (0.9,)}, match="betas"),
    ErrorInput({"eps": -1e-8}, match="eps"),
    ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
]
"""Bad arguments every class of the family rejects, naming them."""

# A scheduler may drive β1 (param_group_key="betas[0]"): the kit checks it as a 0-d tensor too.
TENSORS = ("lr", "weight_decay", "betas[0]")

# The bitwise resume runs in float32 and float64 (the host-step mirror reads the step
# back from float32 beta powers whatever the params' dtype).
DTYPES = (torch.float32, torch.float64)

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            AdamW,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1},
                {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True},
                {"lr": 1e-2, "weight_decay": 0.1, "correct_bias": False},
                {"lr": 1e-2, "weight_decay": 0.1, "fused": True},
                {"lr": 1e-2, "weight_decay": 0.1, "fused": False},
            ],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
            compile_configs=(1, 2),
        ),
        OptimizerInfo(
            Adam,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True},
                {"lr": 1e-2, "weight_decay": 0.1, "enable_global_step": True},
            ],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
            compile_configs=(1,),
        ),
        OptimizerInfo(
            AdamBase,
            configs=[
                {"lr": 1e-2, "weight_decay": 0.1, "l2_regularization_rate": 0.01},
                {"lr": 1e-2, "weight_decay": 0.1, "l2_regularization_rate": 0.01, "amsgrad": True},
            ],
            dtypes=DTYPES,
            error_inputs=[
                *COMMON_ERRORS,
                ErrorInput({"l2_regularization_rate": -1.0}, match="l2_regularization_rate"),
            ],
            compile=False,
        ),
        OptimizerInfo(
            Adamax,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1, "maximize": True}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
        ),
        OptimizerInfo(
            NAdam,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1, "momentum_decay": 1e-2}],
            error_inputs=[
                *COMMON_ERRORS,
                ErrorInput({"momentum_decay": -1.0}, match="momentum_decay"),
            ],
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
        ),
        OptimizerInfo(
            RAdam,
            # 8 steps: the rectification switches on once rho_t > 5 (t >= 6 with beta2=0.999).
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
            steps=8,
        ),
        OptimizerInfo(
            Lamb,
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}, {"lr": 1e-2, "adam": True}],
            error_inputs=COMMON_ERRORS,
            tensor_hyperparams=TENSORS,
            dtypes=DTYPES,
        ),
    ]
)


# ---------------------------------------------------------------------- the family's own contract (what the kit does not cover)
ALL = [AdamBase, Adam, AdamW, Adamax, NAdam, RAdam, Lamb]

SPEC_SIGNATURES = {
    # the reference API's signatures (AdamBase: docs/explanation/semantics.md#semantics-2-1)
    AdamBase: dict(
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-6,
        weight_decay=0.0,
        l2_regularization_rate=0.0,
        correct_bias=True,
        amsgrad=False,
    ),
    Adam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, amsgrad=False),
    AdamW: dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, correct_bias=True, amsgrad=False
    ),
    Adamax: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, maximize=False),
    NAdam: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3),
    RAdam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0),
    Lamb: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, adam=False),
}


def params(n=3):
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (5,), (2, 2, 2)][:n]
    return [torch.randn(s, generator=gen).requires_grad_() for s in shapes]


def set_grads(ps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for p in ps:
        p.grad = torch.randn(p.shape, generator=gen)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_signature_matches_the_spec(cls):
    sig = inspect.signature(cls)
    positional = [
        n for n, p in sig.parameters.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert positional == ["params", *SPEC_SIGNATURES[cls]]
    for name, default in SPEC_SIGNATURES[cls].items():
        assert sig.parameters[name].default == default, name
    keyword_only = [
        n for n, p in sig.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert "enable_global_step" in keyword_only


# ---------------------------------------------------------------------- argument errors
# (each class's bad constructor arguments are the kit's error_inputs, above)
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_bad_group_value_names_the_group(cls):
    ps = params()
    with pytest.raises(ValueError, match=r"lr \(param group 1\)"):
        cls([{"params": ps[:1]}, {"params": ps[1:], "lr": -1.0}])


# ---------------------------------------------------------------------- static step
CONFIGS = [
    (AdamBase, dict(weight_decay=0.1, l2_regularization_rate=0.01, amsgrad=True)),
    (Adam, dict(weight_decay=0.1)),
    (Adam, dict(amsgrad=True, lr=torch.tensor(1e-3))),
    (AdamW, dict(weight_decay=0.1)),
    (AdamW, dict(correct_bias=False, enable_global_step=True)),
    (AdamW, dict(fused=False, amsgrad=True)),
    (Adamax, dict(maximize=True, weight_decay=0.1)),
    (Adamax, dict(lr=torch.tensor(1e-3))),
    (NAdam, dict(weight_decay=0.1)),
    (NAdam, dict(lr=torch.tensor(1e-3))),
    (RAdam, dict()),
    (RAdam, dict(lr=torch.tensor(1e-3))),
    (Lamb, dict(weight_decay=0.1)),
    (Lamb, dict(adam=True, enable_global_step=True)),
]
EXPECTED_KEYS = {
    AdamBase: {"exp_avg", "exp_avg_sq", "max_exp_avg_sq", "beta1_power", "beta2_power"},
    Adam: {"exp_avg", "exp_avg_sq", "beta1_power", "beta2_power"},
    AdamW: {"exp_avg", "exp_avg_sq", "beta1_power", "beta2_power"},
    Adamax: {"exp_avg", "exp_inf", "beta1_power"},
    NAdam: {"exp_avg", "exp_avg_sq", "mu_product", "step"},
    RAdam: {"exp_avg", "exp_avg_sq", "step"},
    Lamb: {"exp_avg", "exp_avg_sq"},
}


def _expected(cls, kwargs):
    keys = set(EXPECTED_KEYS[cls])
    if kwargs.get("amsgrad"):
        keys.add("max_exp_avg_sq")
    if kwargs.get("correct_bias") is False:
        keys -= {"beta1_power", "beta2_power"}
    if kwargs.get("enable_global_step"):
        keys.add("step")
    return keys


def _layout(opt):
    return {
        (id(p), key): (
            value.untyped_storage().data_ptr(),
            value.storage_offset(),
            value.shape,
            value.dtype,
        )
        for g in opt.param_groups
        for p in g["params"]
        for key, value in opt.state[p].items()
    }


@pytest.mark.parametrize(("cls", "kwargs"), CONFIGS, ids=lambda x: getattr(x, "__name__", str(x)))
def test_state_is_created_at_construction_and_updated_in_place(cls, kwargs):
    ps = params()
    opt = cls(ps, **kwargs)
    for p in ps:
        assert set(opt.state[p]) == _expected(cls, kwargs)
        for key, value in opt.state[p].items():
            assert value.device == p.device
            if value.dim() == 0:
                assert value.dtype == torch.float32, key
    before = _layout(opt)
    for step in range(4):
        set_grads(ps, step)
        if step == 2:
            ps[1].grad = None
        opt.step()
        assert _layout(opt) == before
    if "step" in opt.state[ps[0]]:
        assert opt.state[ps[0]]["step"].item() == 4.0
        assert opt.state[ps[1]]["step"].item() == 3.0


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_enable_global_step_is_accepted_and_counts(cls):
    ps = params()
    opt = cls(ps, enable_global_step=True)
    for step in range(3):
        set_grads(ps, step)
        opt.step()
    for p in ps:
        assert opt.state[p]["step"].dtype == torch.float32
        assert opt.state[p]["step"].item() == 3.0
    assert opt.increment_global_step(ps[0]).item() == 4.0


@pytest.mark.parametrize("cls", [NAdam, RAdam], ids=lambda c: c.__name__)
def test_nadam_radam_always_keep_the_step(cls):
    ps = params()
    opt = cls(ps, enable_global_step=False)
    assert opt.enable_global_step is True
    assert all("step" in opt.state[p] for p in ps)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_added_param_group_gets_state_and_old_state_is_kept(cls):
    ps = params()
    opt = cls(ps[:2])
    set_grads(ps)
    opt.step()
    before = _layout(opt)
    opt.add_param_group({"params": [ps[2]], "lr": 1e-2})
    assert set(opt.state[ps[2]]) == set(opt.state[ps[0]])
    after = _layout(opt)
    assert all(after[k] == v for k, v in before.items())
    set_grads(ps, 1)
    old = ps[2].detach().clone()
    opt.step()
    assert not torch.equal(old, ps[2])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_closure_loss_is_returned(cls):
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = cls([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert p.grad is not None


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_deepcopy_and_visit_state_keep_the_trajectory(cls):
    ps = params()
    opt = cls(ps, lr=1e-2)
    set_grads(ps)
    opt.step()
    twin = copy.deepcopy(opt)
    twin_ps = [p for g in twin.param_groups for p in g["params"]]
    opt.visit_state(lambda v: v.clone())  # replaces every state tensor
    for step in range(1, 4):
        set_grads(ps, step)
        set_grads(twin_ps, step)
        opt.step()
        twin.step()
    for a, b in zip(ps, twin_ps):
        assert torch.equal(a, b)


def test_adam_group_rewrites_follow_cerebras():
    ps = params()
    adam = Adam([{"params": ps[:1], "weight_decay": 0.3}, {"params": ps[1:]}], weight_decay=0.1)
    assert [g["l2_regularization_rate"] for g in adam.param_groups] == [0.3, 0.1]
    assert all(g["weight_decay"] == 0.0 and g["correct_bias"] for g in adam.param_groups)
    adamw = AdamW([{"params": ps, "l2_regularization_rate": 0.5}], weight_decay=0.1)
    assert adamw.param_groups[0]["l2_regularization_rate"] == 0.0
    assert adamw.param_groups[0]["weight_decay"] == 0.1


# ---------------------------------------------------------------------- plugin
def test_plugin_registers_the_family_through_the_entry_point():
    (ep,) = [ep for ep in entry_points(group="waferopt") if ep.name == "adam"]
    plugin = ep.load()
    records = plugin.register_optimizers()
    assert {r.name for r in records} == {c.__name__ for c in ALL}
    for record in records:
        assert record.kind is Kind.OPTIMIZER
        assert record.load().__name__ == record.name
        assert record.description


def test_nadam_host_copy_of_the_mu_product_changes_no_bit():
    """Eager NAdam keeps its μ product P on the host (waferopt.core.coefficients) and
    computes the coefficients as Python floats; an optimizer whose host copy is made
    stale (an in-place write to the state, which moves its version) computes them on
    the device. Both give the same bits, over enough steps that P runs through float32's
    subnormal numbers down to 0."""

    def run(stale):
        gen = torch.Generator().manual_seed(0)
        ps = [torch.randn(s, generator=gen).requires_grad_() for s in [(16, 8), (10,)]]
        opt = NAdam(ps, lr=1e-2, weight_decay=1e-2)
        products = [opt.state[p]["mu_product"] for p in ps]
        for _ in range(1000):
            if stale:
                for t in products:
                    t.mul_(1.0)
            for p in ps:
                p.grad = torch.randn(p.shape, generator=gen) * 1e-2
            opt.step()
        return ps, products

    (host, host_products), (device, device_products) = run(False), run(True)
    assert [float(t) for t in host_products] == [float(t) for t in device_products] == [0.0] * 2
    for a, b in zip(host, device):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------- compiled step
@pytest.mark.compile
@pytest.mark.parametrize("cls", [Adam, AdamW], ids=lambda c: c.__name__)
def test_compiled_step_with_tensor_lr_compiles_once_and_matches_eager(cls):
    """torch.compile(opt.step, fullgraph=True) with inductor: one graph, no recompile as lr moves."""
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    ps, eager_ps = params(2), params(2)
    opt = cls(ps, lr=torch.tensor(1e-2), weight_decay=0.1)
    ref = cls(eager_ps, lr=torch.tensor(1e-2), weight_decay=0.1)
    counter = CompileCounterWithBackend("inductor")
    step = torch.compile(opt.step, backend=counter, fullgraph=True)
    for i in range(4):
        set_grads(ps, i)
        set_grads(eager_ps, i)
        step()
        ref.step()
        for o in (opt, ref):
            o.param_groups[0]["lr"].fill_(1e-2 / (i + 2))
    assert counter.frame_count == 1
    for a, b in zip(ps, eager_ps):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.compile
@pytest.mark.parametrize("cls", [AdamW, Adamax, NAdam, RAdam], ids=lambda c: c.__name__)
def test_eager_steps_after_compiled_steps_stay_on_the_trajectory(cls):
    """The host step mirror is not advanced under compile; later eager steps must know."""
    torch._dynamo.reset()
    ps, ref_ps = params(2), params(2)
    opt, ref = cls(ps, lr=1e-2), cls(ref_ps, lr=1e-2)
    compiled = torch.compile(opt.step, backend="eager", fullgraph=True)
    for i in range(6):
        set_grads(ps, i)
        set_grads(ref_ps, i)
        (compiled if i < 3 else opt.step)()
        ref.step()
    for a, b in zip(ps, ref_ps):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_groups_powers_are_packed_and_a_param_without_gradient_keeps_its_own():
    """The power states of a group are the elements of one tensor (one fill per step);
    a step that leaves a param out writes the others only."""
    params = [torch.nn.Parameter(torch.randn(3)) for _ in range(3)]
    opt = Adam(params, lr=0.1)
    first = opt.state[params[0]]["beta1_power"]
    assert all(
        opt.state[p][k].untyped_storage().data_ptr()
        == opt.state[params[0]][k].untyped_storage().data_ptr()
        for p in params
        for k in ("beta1_power", "beta2_power")
    )
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    params[1].grad = None
    opt.step()
    got = [opt.state[p]["beta1_power"].item() for p in params]
    assert got == [pytest.approx(0.9**3, rel=1e-6), pytest.approx(0.9**2, rel=1e-6), got[0]]
    assert first is opt.state[params[0]]["beta1_power"]
