"""The generic Scheduler machinery, driven by a small closed-form test scheduler."""

from __future__ import annotations

import math

import pytest
import torch

from waferopt.core import LRScheduler, Optimizer, Scheduler, WeightDecayScheduler


class Plain(Optimizer):
    def __init__(self, params, lr=1.0, weight_decay=0.0, momentum=0.9, betas=(0.9, 0.999)):
        super().__init__(
            params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, betas=betas)
        )

    def preinitialize(self):
        pass

    def step(self, closure=None):
        pass


def cosine(initial, final, total, t):
    return final + (initial - final) * 0.5 * (1 + math.cos(math.pi * min(t, total) / total))


class Cosine(Scheduler):
    """Cosine decay of any key (the key is an argument here)."""

    def __init__(self, optimizer, key, initial, final, total_iters, **kwargs):
        self.key, self.initial, self.final = key, initial, final
        super().__init__(optimizer, total_iters, **kwargs)

    @property
    def param_group_key(self):
        return self.key

    def _get_closed_form(self):
        t = torch.clamp(self.step_as_float(), max=self.total_iters)
        return self.final + (self.initial - self.final) * 0.5 * (
            1 + torch.cos(math.pi * t / self.total_iters)
        )


class CosineLR(LRScheduler):
    def __init__(self, optimizer, initial, final, total_iters, **kwargs):
        self.initial, self.final = initial, final
        super().__init__(optimizer, total_iters, **kwargs)

    def _get_closed_form(self):
        t = torch.clamp(self.step_as_float(), max=self.total_iters)
        return self.final + (self.initial - self.final) * 0.5 * (
            1 + torch.cos(math.pi * t / self.total_iters)
        )


class ConstWD(WeightDecayScheduler):
    def __init__(self, optimizer, val, **kwargs):
        self.val = val
        super().__init__(optimizer, None, **kwargs)

    def _get_closed_form(self):
        return self.constant(self.val)


def opt(groups=1, **kw):
    ps = [torch.nn.Parameter(torch.zeros(2)) for _ in range(groups)]
    return Plain(
        [
            {"params": [p], **({"tags": kw.get("tags")[i]} if "tags" in kw else {})}
            for i, p in enumerate(ps)
        ]
    )


def test_value_at_step_zero_is_written_at_construction():
    """Right after construction the groups hold f(0), as 0-d float32 tensors."""
    o = opt()
    s = CosineLR(o, 1.0, 0.0, 10)
    lr = o.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and lr.dim() == 0 and lr.dtype == torch.float32
    assert lr.item() == pytest.approx(1.0)
    assert s.get_last_lr() == [lr]
    assert s.last_epoch.dtype == torch.int64 and s.last_epoch.item() == 0


def test_k_steps_give_closed_form_and_write_in_place():
    """After k steps the group holds f(k), in the same tensor every time."""
    o = opt()
    s = CosineLR(o, 1.0, 0.1, 10)
    tensor = o.param_groups[0]["lr"]
    for k in range(1, 15):
        s.step()
        assert o.param_groups[0]["lr"] is tensor
        assert tensor.item() == pytest.approx(cosine(1.0, 0.1, 10, k), rel=1e-6)


def test_other_keys_and_sequence_elements():
    """Any group key works, including an element of a sequence such as betas[0]."""
    o = opt()
    Cosine(o, "momentum", 0.9, 0.5, 4)
    s = Cosine(o, "betas[0]", 0.8, 0.4, 4)
    for _ in range(4):
        s.step()
    assert o.param_groups[0]["momentum"].item() == pytest.approx(0.9)
    beta0, beta1 = o.param_groups[0]["betas"]
    assert isinstance(o.param_groups[0]["betas"], tuple)
    assert beta0.item() == pytest.approx(0.4) and beta1 == 0.999


def test_bad_key_is_rejected():
    """A key the groups do not have is a KeyError naming it."""
    with pytest.raises(KeyError, match="nope"):
        Cosine(opt(), "nope", 1.0, 0.0, 3)
    with pytest.raises(ValueError, match="param_group_key"):
        Cosine(opt(), "lr[", 1.0, 0.0, 3)


def test_tags_select_groups():
    """A tagged scheduler writes only groups whose tags intersect; untagged writes all."""
    o = opt(3, tags=[["a"], ["b", "c"], None])
    s = CosineLR(o, 1.0, 0.0, 4, param_group_tags=["c"])
    assert [v is None for v in s.get_last_lr()] == [True, False, True]
    assert o.param_groups[0]["lr"] == 1.0 and isinstance(o.param_groups[1]["lr"], torch.Tensor)
    ConstWD(o, 0.3)
    assert all(g["weight_decay"].item() == pytest.approx(0.3) for g in o.param_groups)


def test_tags_that_match_nothing_and_duplicates():
    """Tags that match no group, or repeat, are ValueErrors naming them."""
    o = opt(2, tags=[["a"], ["b"]])
    with pytest.raises(ValueError, match="match no param group"):
        CosineLR(o, 1.0, 0.0, 4, param_group_tags="zzz")
    with pytest.raises(ValueError, match="duplicates"):
        CosineLR(o, 1.0, 0.0, 4, param_group_tags=["a", "a"])


def test_rejects_plain_torch_optimizer():
    """Schedulers need a waferopt optimizer."""
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match=r"waferopt\.core\.Optimizer"):
        CosineLR(sgd, 1.0, 0.0, 4)


def test_get_outside_step_warns():
    """get() outside step() warns and points at get_last_value()."""
    s = CosineLR(opt(), 1.0, 0.0, 4)
    with pytest.warns(UserWarning, match="get_last_value"):
        s.get()


def test_resume_matches_uninterrupted_in_either_load_order():
    """A restored scheduler writes the restored step's value, whatever the load order."""
    o1 = opt()
    s1 = CosineLR(o1, 1.0, 0.0, 20)
    for _ in range(7):
        s1.step()
    sd, osd = s1.state_dict(), o1.state_dict()
    osd = {"state": {}, "param_groups": [dict(g, lr=float(g["lr"])) for g in osd["param_groups"]]}
    for order in ("scheduler-first", "optimizer-first"):
        o2 = opt()
        s2 = CosineLR(o2, 1.0, 0.0, 20)
        if order == "scheduler-first":
            s2.load_state_dict(sd)
            o2.load_state_dict(osd)
        else:
            o2.load_state_dict(osd)
            s2.load_state_dict(sd)
        s2.step()
        assert o2.param_groups[0]["lr"].item() == pytest.approx(cosine(1.0, 0.0, 20, 8), rel=1e-6)


def test_load_state_dict_rejects_unknown_keys():
    """Unknown keys are named and nothing changes."""
    s = CosineLR(opt(), 1.0, 0.0, 20)
    with pytest.raises(ValueError, match="bogus"):
        s.load_state_dict({"last_epoch": torch.tensor(3), "bogus": 1})
    assert s.last_epoch.item() == 0


def test_lr_scheduler_is_a_torch_lr_scheduler():
    """Libraries that check isinstance(torch LRScheduler) accept ours."""
    assert isinstance(CosineLR(opt(), 1.0, 0.0, 4), torch.optim.lr_scheduler.LRScheduler)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_total_iters_validated(bad):
    """total_iters must be a non-negative int or None."""
    with pytest.raises(ValueError, match="total_iters"):
        CosineLR(opt(), 1.0, 0.0, bad)


def test_state_dict_is_a_snapshot():
    """A state dict taken earlier does not move on as the scheduler steps."""
    s = CosineLR(opt(), 1.0, 0.0, 10)
    s.step()
    sd = s.state_dict()
    for _ in range(3):
        s.step()
    assert sd["last_epoch"].item() == 1
    assert sd["_last_value"][0].item() == pytest.approx(cosine(1.0, 0.0, 10, 1), rel=1e-6)


class PerGroupWD(ConstWD):
    """Group ``i`` receives ``val * (i + 1)``: a scheduler overriding ``_values_per_group``."""

    def _values_per_group(self):
        value = self._get_closed_form()
        return [
            (value * (i + 1)).to(self.value_dtype) for i in range(len(self.optimizer.param_groups))
        ]


def test_values_per_group_override_is_written_and_get_still_warns():
    o = opt(groups=3)
    s = PerGroupWD(o, 0.5)
    assert [float(g["weight_decay"]) for g in o.param_groups] == [0.5, 1.0, 1.5]
    s.step()
    assert [float(v) for v in s.get_last_value()] == [0.5, 1.0, 1.5]
    with pytest.warns(UserWarning, match="get_last_value"):
        assert [float(v) for v in s.get()] == [0.5, 1.0, 1.5]


@pytest.mark.parametrize(
    ("state", "match"),
    [
        ([], "expected a dict"),
        ({"total_iters": 20}, "last_epoch"),
        ({"last_epoch": torch.tensor(3), "bogus": 1}, "bogus"),
        ({"last_epoch": torch.tensor(3.0)}, "integer"),
    ],
)
def test_check_state_dict_raises_what_load_raises_and_changes_nothing(state, match):
    """Composites call _check_state_dict before loading their children."""
    o = opt()
    s = CosineLR(o, 1.0, 0.0, 20)
    s.step()
    before = float(o.param_groups[0]["lr"])
    with pytest.raises(ValueError, match=match):
        s._check_state_dict(state)
    with pytest.raises(ValueError, match=match):
        s.load_state_dict(state)
    assert s.last_epoch.item() == 1
    assert float(o.param_groups[0]["lr"]) == before
    assert int(s._check_state_dict({"last_epoch": torch.tensor(7)})) == 7
    assert s.last_epoch.item() == 1


class Tracked(CosineLR):
    """A scheduler written the spec's way with a private attribute of its own."""

    def __init__(self, optimizer, *args, **kwargs):
        self._private_cache = {"built": True}
        super().__init__(optimizer, *args, **kwargs)


def test_state_dict_holds_public_attributes_and_step_keys_only():
    """A class written the spec's way saves its public attributes and the spec's step
    keys; private attributes are not checkpoint format."""
    s = Tracked(opt(), 1.0, 0.0, 10)
    state = s.state_dict()
    assert {"initial", "final", "total_iters", "last_epoch", "_last_value"} <= set(state)
    assert "_private_cache" not in state and "optimizer" not in state


def test_first_release_checkpoint_of_a_spec_style_class_loads():
    """The first release saved every attribute: a private one the class has is ignored
    on load, an attribute the class does not have is still an error."""
    s = Tracked(opt(), 1.0, 0.0, 10)
    old = {**s.state_dict(), "_private_cache": {"built": False}, "last_epoch": torch.tensor(4)}
    s.load_state_dict(old)
    assert int(s.last_epoch) == 4 and s._private_cache == {"built": True}
    with pytest.raises(ValueError, match="_no_such"):
        s.load_state_dict({**old, "_no_such": 1})
