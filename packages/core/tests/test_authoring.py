"""The optimizer authoring API: declared hyperparameters and state, one kernel per rule."""

from __future__ import annotations

import copy

import pytest
import torch
import torch._dynamo.testing

from waferopt.core import (
    DeclaredOptimizer,
    GroupState,
    Hyperparameter,
    StateSpec,
    check_betas,
    check_non_negative,
    check_unit_interval,
)
from waferopt.core.authoring import scalar, zeros


def heavy_ball(params, grads, bufs, powers, *, lr, beta):
    """A tiny functional kernel: b <- beta b + g; p <- p - lr b; power <- power * beta."""
    torch._foreach_mul_(bufs, beta)
    torch._foreach_add_(bufs, grads)
    torch._foreach_add_(params, torch._foreach_mul(bufs, -lr))
    torch._foreach_mul_(powers, beta)


class HeavyBall(DeclaredOptimizer):
    hyperparameters = (
        Hyperparameter("lr", check_non_negative, "learning rate (lr)"),
        Hyperparameter("beta", check_unit_interval),
        Hyperparameter("betas", check_betas),
    )
    param_state = (
        StateSpec("buf", zeros),
        StateSpec("power", scalar(lambda g: g["beta"])),
        StateSpec("extra", zeros, when=lambda g: g["extra"]),
    )

    def __init__(self, params, lr=0.1, beta=0.5, extra=False, *, enable_global_step=False):
        defaults = dict(lr=lr, beta=beta, betas=(0.9, 0.99), extra=extra)
        super().__init__(params, defaults, enable_global_step)
        self.calls: list[tuple[torch.dtype, int, tuple[str, ...]]] = []

    def update(self, group, params, grads, state):
        if not torch.compiler.is_compiling():
            self.calls.append((params[0].dtype, len(params), tuple(state)))
        heavy_ball(params, grads, state["buf"], state["power"], lr=group["lr"], beta=group["beta"])


class Counted(HeavyBall):
    global_step = "always"


def make(dtype=torch.float32, n=3):
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(4, 3, dtype=dtype)) for _ in range(n)]


def test_state_is_created_at_construction_as_declared():
    conv = torch.nn.Parameter(torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last))
    params = make()
    opt = HeavyBall([{"params": params}, {"params": [conv], "beta": 0.25, "extra": True}])
    for p in params:
        assert set(opt.state[p]) == {"buf", "power"}
        assert torch.equal(opt.state[p]["buf"], torch.zeros_like(p))
        assert opt.state[p]["power"].dtype == torch.float32
        assert opt.state[p]["power"].dim() == 0 and opt.state[p]["power"].item() == 0.5
    assert set(opt.state[conv]) == {"buf", "power", "extra"}
    assert opt.state[conv]["buf"].is_contiguous(memory_format=torch.channels_last)
    assert opt.state[conv]["power"].item() == 0.25


def test_scalar_state_from_a_tensor_hyperparameter_is_a_copy():
    lr = torch.tensor(0.3)
    p = make(n=1)
    opt = DeclaredStateFromLr(p, lr=lr)
    state = opt.state[p[0]]["start"]
    assert state.item() == pytest.approx(0.3) and state.data_ptr() != lr.data_ptr()


class DeclaredStateFromLr(HeavyBall):
    param_state = (*HeavyBall.param_state, StateSpec("start", scalar(lambda g: g["lr"])))


def test_step_updates_in_place_and_creates_nothing():
    params = make()
    opt = HeavyBall(params, lr=0.1, beta=0.5)
    before = {id(p): {k: v.data_ptr() for k, v in opt.state[p].items()} for p in params}
    expected = [p.detach().clone() for p in params]
    bufs = [torch.zeros_like(p) for p in params]
    for _ in range(3):
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
        for e, b in zip(expected, bufs):
            b.mul_(0.5).add_(1.0)
            e.sub_(0.1 * b)
    for p, e in zip(params, expected):
        torch.testing.assert_close(p.detach(), e)
        assert {k: v.data_ptr() for k, v in opt.state[p].items()} == before[id(p)]
        assert opt.state[p]["power"].item() == 0.5**4


def test_the_kernel_runs_once_per_device_and_dtype_on_params_with_a_gradient():
    f32, f64 = make(torch.float32, 3), make(torch.float64, 2)
    opt = HeavyBall([*f32, *f64])
    for p in [*f32[:2], *f64]:
        p.grad = torch.ones_like(p)
    opt.step()
    assert sorted(opt.calls, key=str) == sorted(
        [(torch.float32, 2, ("buf", "power")), (torch.float64, 2, ("buf", "power"))], key=str
    )
    assert opt.state[f32[2]]["power"].item() == 0.5  # no gradient: untouched


def test_global_step_optional_or_always():
    params = make()
    assert "step" not in HeavyBall(params).state[params[0]]
    opt = HeavyBall(params, enable_global_step=True)
    counted = Counted(params)  # always, whatever enable_global_step says
    for o in (opt, counted):
        params[0].grad = torch.ones_like(params[0])
        params[1].grad = None
        params[2].grad = None
        o.step()
        o.step()
        assert o.state[params[0]]["step"].item() == 2.0
        assert o.state[params[1]]["step"].item() == 0.0
        assert "step" in o.calls[-1][2]  # the kernel sees the advanced counter


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -1.0}, r"learning rate \(lr\)"),
        ({"beta": 1.5}, "beta"),
        ({"lr": torch.tensor([0.1, 0.2])}, r"learning rate \(lr\).*0-d"),
    ],
)
def test_constructor_arguments_are_checked_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HeavyBall(make(), **kwargs)


def test_param_groups_are_checked_with_their_index_and_nothing_is_built():
    params = make()
    with pytest.raises(ValueError, match=r"beta \(param group 1\)"):
        HeavyBall([{"params": params[:1]}, {"params": params[1:], "beta": -0.5}])
    opt = HeavyBall(params[:1])
    with pytest.raises(ValueError, match=r"betas \(param group 1\)"):
        opt.add_param_group({"params": params[1:], "betas": (0.9, 1.0)})


def test_added_group_gets_its_state():
    params = make()
    opt = HeavyBall(params[:1])
    opt.add_param_group({"params": params[1:], "beta": 0.75, "extra": True})
    assert set(opt.state[params[2]]) == {"buf", "power", "extra"}
    assert opt.state[params[2]]["power"].item() == 0.75


@pytest.mark.compile
def test_tensor_hyperparameters_compile_once():
    params = make()
    opt = HeavyBall(params, lr=torch.tensor(0.1), beta=torch.tensor(0.5))
    for p in params:
        p.grad = torch.ones_like(p)
    eager = HeavyBall([p.detach().clone().requires_grad_() for p in params], lr=0.1, beta=0.5)
    for p in eager.param_groups[0]["params"]:
        p.grad = torch.ones_like(p)
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounter()
    step = torch.compile(opt.step, backend=counter, fullgraph=True)
    for i in range(3):
        opt.param_groups[0]["lr"].fill_(0.1 / (i + 1))
        eager.param_groups[0]["lr"] = 0.1 / (i + 1)
        step()
        eager.step()
    assert counter.frame_count == 1
    for a, b in zip(params, eager.param_groups[0]["params"]):
        torch.testing.assert_close(a, b)


@pytest.mark.compile
def test_a_compiled_step_takes_dynamos_optimizer_route():
    """gather() fills its lists through _init_group, which Dynamo runs as Python: the
    params and state become static addresses (an identity guard each, no tensor
    metadata guards), a load_state_dict (a copy into the same tensors) does not
    recompile, and a param that loses its gradient does, with the right lists."""
    from torch._dynamo.utils import get_static_address_type

    params = make(n=3)
    opt = Counted(params, extra=True)
    twin = Counted([p.detach().clone().requires_grad_() for p in params], extra=True)
    for p, q in zip(params, twin.param_groups[0]["params"]):
        p.grad = torch.ones_like(p)
        q.grad = torch.ones_like(q)
    filled: list = [[] for _ in range(len(opt.param_state) + 1)]
    keys = opt._init_group(opt.param_groups[0], 0, [], [], *filled)
    assert keys == (("buf", 0), ("power", 1), ("extra", 2), ("step", 3))
    assert filled[0] == [opt.state[p]["buf"] for p in params]
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounter()
    step = torch.compile(opt.step, backend=counter, fullgraph=True)
    step()
    twin.step()
    for p in params:
        for t in opt.state[p].values():
            assert get_static_address_type(t) == "guarded"
    saved = copy.deepcopy(opt.state_dict())
    step()
    twin.step()
    opt.load_state_dict(saved)  # the state one step back: copied into the same tensors
    twin.load_state_dict(saved)
    step()
    twin.step()
    assert counter.frame_count == 1
    params[1].grad = None
    twin.param_groups[0]["params"][1].grad = None
    step()
    twin.step()
    assert counter.frame_count == 2
    for a, b in zip(params, twin.param_groups[0]["params"]):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(opt.state[a]["step"], twin.state[b]["step"])


def test_unit_interval_check():
    check_unit_interval("alpha", 0.0)
    check_unit_interval("alpha", torch.tensor(1.0))
    with pytest.raises(ValueError, match="alpha"):
        check_unit_interval("alpha", 1.01)
    with pytest.raises(ValueError, match="alpha"):
        check_unit_interval("alpha", "x")


class PerShape(DeclaredOptimizer):
    """State that depends on the parameter: a matrix keeps ``rows``, a vector ``vec``."""

    param_state = (
        StateSpec("rows", lambda p, g: torch.zeros(p.shape[:-1]), applies=lambda p: p.dim() >= 2),
        StateSpec("vec", zeros, applies=lambda p: p.dim() < 2),
    )

    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})
        self.seen: list[dict[str, list]] = []

    def update(self, group, params, grads, state):
        self.seen.append(state)
        for p, g, r, v in zip(params, grads, state["rows"], state["vec"]):
            (r if r is not None else v).add_(1.0)
            p.sub_(g, alpha=group["lr"])


def test_state_spec_applies_per_parameter():
    """``applies(p)`` decides per param; the kernel gets None where a param has no entry."""
    mat, vec = torch.nn.Parameter(torch.ones(3, 2)), torch.nn.Parameter(torch.ones(2))
    opt = PerShape([mat, vec])
    assert set(opt.state[mat]) == {"rows"} and opt.state[mat]["rows"].shape == (3,)
    assert set(opt.state[vec]) == {"vec"}
    mat.grad, vec.grad = torch.ones_like(mat), torch.ones_like(vec)
    opt.step()
    (state,) = opt.seen
    assert state["rows"][0] is opt.state[mat]["rows"] and state["rows"][1] is None
    assert state["vec"][0] is None and state["vec"][1] is opt.state[vec]["vec"]
    assert torch.equal(opt.state[mat]["rows"], torch.ones(3))
    assert torch.equal(opt.state[vec]["vec"], torch.ones(2))


def scaled_sign(params, grads, bufs, steps, *, lr, beta1, beta2, step=None):
    """A kernel as a class declares it: state lists, then the counters, then keywords."""
    calls.append({"beta1": beta1, "beta2": beta2, "step": step, "n": len(params)})
    torch._foreach_lerp_(bufs, grads, 1 - beta1)
    torch._foreach_add_(params, torch._foreach_sign(bufs), alpha=-lr)


calls: list[dict] = []


class ScaledSign(DeclaredOptimizer):
    kernel = scaled_sign
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("betas", check_betas, kernel_names=("beta1", "beta2")),
        Hyperparameter("flag", kernel_names=()),
    )
    param_state = (StateSpec("buf", zeros),)
    global_step = "always"
    host_step = True

    def __init__(self, params, lr=0.1, betas=(0.5, 0.9), flag=True):
        super().__init__(params, dict(lr=lr, betas=betas, flag=flag))


def test_a_declared_kernel_gets_state_counters_and_unpacked_keywords():
    calls.clear()
    params = make()
    opt = ScaledSign(params)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    opt.step()
    assert calls == [
        {"beta1": 0.5, "beta2": 0.9, "step": 1, "n": 3},
        {"beta1": 0.5, "beta2": 0.9, "step": 2, "n": 3},
    ]
    assert opt.state[params[0]]["step"].item() == 2.0
    torch.testing.assert_close(opt.state[params[0]]["buf"], torch.full((4, 3), 0.75))


def test_host_step_copy_follows_loads_and_skips():
    calls.clear()
    params = make()
    opt = ScaledSign(params)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    params[1].grad = None
    opt.step()  # params 0 and 2 at step 2, param 1 still at 1
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()  # mixed steps in one run: the kernel computes on the device (step=None)
    assert [c["step"] for c in calls] == [1, 2, None]
    sd = opt.state_dict()
    fresh = ScaledSign(make())
    fresh.load_state_dict(sd)
    for p in fresh.param_groups[0]["params"]:
        p.grad = torch.ones_like(p)
    calls.clear()
    fresh.step()
    assert calls[0]["step"] is None  # still mixed after the load (4, 3, 4)


def test_a_class_without_kernel_says_so():
    class Bare(DeclaredOptimizer):
        def __init__(self, params):
            super().__init__(params, {})

    params = make(n=1)
    params[0].grad = torch.ones_like(params[0])
    with pytest.raises(NotImplementedError, match="Bare declares no kernel"):
        Bare(params).step()


# ---------------------------------------------------------------- named state, group state


def ordered_kernel(params, grads, first, *, lr, second=None, third=None):
    """Takes two state lists by name, in another order than the class declares them."""
    torch._foreach_add_(first, grads)
    if third is not None:
        torch._foreach_add_(third, 3.0)
    if second is not None:
        torch._foreach_add_(second, 2.0)
    torch._foreach_add_(params, first, alpha=-lr)


class NamedState(DeclaredOptimizer):
    kernel = ordered_kernel
    hyperparameters = (
        Hyperparameter("lr", check_non_negative),
        Hyperparameter("extra", kernel_names=()),
    )
    param_state = (
        StateSpec("first"),
        StateSpec("third", when=lambda g: g["extra"], kernel_name="third"),
        StateSpec("second", kernel_name="second"),
    )

    def __init__(self, params, lr=0.1, extra=True):
        super().__init__(params, dict(lr=lr, extra=extra))


def test_state_taken_by_name_keeps_the_declared_order():
    params = make(n=2)
    opt = NamedState(params)
    assert list(opt.state[params[0]]) == ["first", "third", "second"]
    assert list(opt.state_dict()["state"][0]) == ["first", "third", "second"]
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    st = opt.state[params[0]]
    assert (st["second"] == 2).all() and (st["third"] == 3).all() and (st["first"] == 1).all()


def test_state_asked_for_after_construction_is_an_error_and_nothing_changes():
    params = make(n=2)
    opt = NamedState([{"params": params[:1]}, {"params": params[1:], "extra": False}])
    for p in params:
        p.grad = torch.ones_like(p)
    before = [p.detach().clone() for p in params]
    opt.param_groups[1]["extra"] = True  # group 1 has no "third" state
    with pytest.raises(RuntimeError, match=r"param group 1 now asks for the state 'third'"):
        opt.step()
    for p, b in zip(params, before):  # group 0 was not stepped either
        assert torch.equal(p.detach(), b)


def test_a_sparse_gradient_in_a_later_group_changes_nothing():
    params = make(n=2)
    opt = NamedState([{"params": params[:1]}, {"params": params[1:]}])
    params[0].grad = torch.ones_like(params[0])
    params[1].grad = torch.ones_like(params[1]).to_sparse()
    before = params[0].detach().clone()
    with pytest.raises(ValueError, match="NamedState does not support sparse gradients"):
        opt.step()
    assert torch.equal(params[0].detach(), before)
    assert (opt.state[params[0]]["first"] == 0).all()


def counting_kernel(params, grads, bufs, count, total, *, lr, scale=1.0):
    """Per-group running scalars: count += 1 and total += scale * sum(g), once per call."""
    count.add_(1)
    if params:
        total.add_(scale * torch.stack([g.sum() for g in grads]).sum())
        torch._foreach_add_(params, grads, alpha=-lr)


class Counting(DeclaredOptimizer):
    kernel = counting_kernel
    hyperparameters = (Hyperparameter("lr", check_non_negative), Hyperparameter("scale"))
    param_state = (StateSpec("buf"),)
    group_state = (GroupState("count"), GroupState("total", lambda g: g["lr"] * 10))
    whole_group = True

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))


def test_group_state_is_created_per_group_and_advances_once_per_step():
    params = [
        torch.nn.Parameter(torch.ones(2)),
        torch.nn.Parameter(torch.ones(2, dtype=torch.float64)),
    ]
    opt = Counting([{"params": params}, {"params": [torch.nn.Parameter(torch.ones(3))], "lr": 0.5}])
    g0, g1 = opt.param_groups
    assert g0["count"].dim() == 0 and g0["count"].dtype == torch.float64
    assert g0["total"].item() == pytest.approx(1.0) and g1["total"].item() == pytest.approx(5.0)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()  # group 0: two dtypes, one kernel call; group 1: no gradient, still counted
    assert g0["count"].item() == 1 and g1["count"].item() == 1
    assert g0["total"].item() == pytest.approx(5.0)
    sd = opt.state_dict()
    fresh = Counting(
        [
            {"params": [torch.nn.Parameter(p.detach().clone()) for p in params]},
            {"params": [torch.nn.Parameter(torch.ones(3))], "lr": 0.5},
        ]
    )
    count = fresh.param_groups[0]["count"]
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["count"] is count and count.item() == 1


def test_a_hyperparameter_a_group_lacks_is_not_passed():
    params = make(n=1)
    opt = Counting(params)
    assert "scale" not in opt.param_groups[0]
    assert "scale" not in opt.kernel_arguments(opt.param_groups[0])
    opt.param_groups[0]["scale"] = 2.0
    assert opt.kernel_arguments(opt.param_groups[0]) == {"lr": 0.1, "scale": 2.0}


class Shared(Counting):
    group_state = (GroupState("count", shared=True), GroupState("total", 1.0, shared=True))


def test_shared_group_state_is_one_tensor_also_after_a_load():
    opt = Shared([{"params": make(n=1)}, {"params": make(n=1)}])
    g0, g1 = opt.param_groups
    assert g0["count"] is g1["count"] and g0["total"] is g1["total"]
    for p in [*g0["params"], *g1["params"]]:
        p.grad = torch.ones_like(p)
    opt.step()
    assert g0["count"].item() == 2  # each group's kernel call advanced the one tensor
    fresh = Shared([{"params": make(n=1)}, {"params": make(n=1)}])
    fresh.load_state_dict(opt.state_dict())
    f0, f1 = fresh.param_groups
    assert f0["count"] is f1["count"] and f0["count"].item() == 2


class StepChecked(NamedState):
    hyperparameters = (
        *NamedState.hyperparameters,
        Hyperparameter("mode", check_non_negative, kernel_names=(), at_step=True),
    )

    def __init__(self, params, mode=0.0):
        DeclaredOptimizer.__init__(self, params, dict(lr=0.1, extra=False, mode=mode))


def test_an_at_step_check_runs_in_every_step_before_anything_changes():
    params = make(n=2)
    opt = StepChecked([{"params": params[:1]}, {"params": params[1:]}])
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    before = [p.detach().clone() for p in params]
    opt.param_groups[1]["mode"] = -1.0
    with pytest.raises(RuntimeError, match=r"StepChecked.step\(\): .*mode \(param group 1\)"):
        opt.step()
    assert all(torch.equal(p.detach(), b) for p, b in zip(params, before))
    with pytest.raises(ValueError, match="mode"):
        StepChecked(make(n=1), mode=-1.0)


def test_a_group_checked_once_is_checked_again_when_its_params_or_state_change():
    """Eager steps check a group's lists with torch's grouping once, then only the
    params' device and dtype, until the state changes through the optimizer."""
    params = make(n=3)
    opt = HeavyBall(params)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    opt.step()
    assert [c[:2] for c in opt.calls] == [(torch.float32, 3)] * 2
    # state moved elsewhere through the optimizer: torch's device check runs again
    opt.visit_state(lambda t: t.to("meta"))
    with pytest.raises(RuntimeError, match="same index must be on the same device"):
        opt.step()
    # a state tensor replaced directly: checked again too
    params = make(n=3)
    opt = HeavyBall(params)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    opt.step()
    opt.state[params[1]]["buf"] = torch.zeros(4, 3, device="meta")
    with pytest.raises(RuntimeError, match="same index must be on the same device"):
        opt.step()
    # a param converted in place (as module.to() does): split by dtype again
    params = make(n=3)
    opt = HeavyBall(params)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    with torch.no_grad():
        params[2].data = params[2].data.double()
    params[2].grad = torch.ones_like(params[2])
    opt.calls.clear()
    opt.step()
    assert sorted((str(c[0]), c[1]) for c in opt.calls) == [
        ("torch.float32", 2),
        ("torch.float64", 1),
    ]


def test_a_changed_state_is_seen_after_a_load_or_an_added_group():
    params, more = make(n=2), make(n=1)
    opt = HeavyBall(params)
    for p in [*params, *more]:
        p.grad = torch.ones_like(p)
    opt.step()
    opt.add_param_group({"params": more})
    opt.calls.clear()
    opt.step()
    assert [c[:2] for c in opt.calls] == [(torch.float32, 2), (torch.float32, 1)]
    fresh = HeavyBall(make(n=2))
    fresh.add_param_group({"params": make(n=1)})
    fresh.load_state_dict(opt.state_dict())
    for g in fresh.param_groups:
        for p in g["params"]:
            p.grad = torch.ones_like(p)
    fresh.step()
    assert fresh.state[fresh.param_groups[1]["params"][0]]["power"].item() == 0.5**3


def test_step_counters_are_packed_and_a_param_without_gradient_keeps_its_count():
    params = make(n=3)
    opt = Counted(params)
    steps = [opt.state[p]["step"] for p in params]
    ptr = steps[0].untyped_storage().data_ptr()
    assert all(s.untyped_storage().data_ptr() == ptr for s in steps)  # one tensor's elements
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    params[1].grad = None
    opt.step()
    assert [opt.state[p]["step"].item() for p in params] == [2.0, 1.0, 2.0]
    more = make(n=2)
    opt.add_param_group({"params": more})  # its counters: packed on their own
    for p in [*params, *more]:
        p.grad = torch.ones_like(p)
    opt.step()
    assert [opt.state[p]["step"].item() for p in [*params, *more]] == [3.0, 2.0, 3.0, 1.0, 1.0]
    assert all(opt.state[p]["step"] is s for p, s in zip(params, steps))
