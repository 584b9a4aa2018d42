"""The conformance kit: it passes a correct optimizer and scheduler, and each check
catches the bug it is written for (one deliberately broken class per rule)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from waferopt.core import LRScheduler
from waferopt.core.testing import (
    OPTIMIZER_CHECKS,
    OPTIMIZER_CLASS_CHECKS,
    SCHEDULER_CHECKS,
    ErrorInput,
    NotApplicable,
    OptimizerInfo,
    ReferenceSGD,
    SchedulerInfo,
    check_compiled_step,
    check_empty_params,
    check_error_inputs,
    check_global_step,
    check_memory_layouts,
    check_mismatched_state_dict,
    check_no_host_sync_step,
    check_optimizer,
    check_param_groups,
    check_scheduler,
    check_scheduler_closed_form,
    check_scheduler_compiled_step,
    check_scheduler_in_place,
    check_scheduler_no_host_sync,
    check_scheduler_tags,
    check_sparse_gradient,
    check_state_dict_resume,
    check_static_step,
    check_tensor_hyperparams,
    conformance_tests,
    no_host_sync,
)

CONFIG = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}


class LinearToy(LRScheduler):
    """lr(t) = a + (b - a) * min(t / T, 1): a closed-form scheduler written correctly."""

    def __init__(
        self,
        optimizer: Any,
        initial_learning_rate: float,
        end_learning_rate: float,
        total_iters: int,
        last_epoch: int = -1,
        param_group_tags: Any = None,
    ) -> None:
        if total_iters <= 0:
            raise ValueError(f"total_iters must be positive, got {total_iters}")
        self.initial_learning_rate = initial_learning_rate
        self.end_learning_rate = end_learning_rate
        super().__init__(optimizer, total_iters, last_epoch, param_group_tags)

    def _get_closed_form(self) -> torch.Tensor:
        frac = torch.clamp(self.step_as_float() / self.total_iters, max=1.0)
        return (
            self.initial_learning_rate
            + (self.end_learning_rate - self.initial_learning_rate) * frac
        )


LINEAR = {"initial_learning_rate": 0.1, "end_learning_rate": 0.01, "total_iters": 6}
SGD_INFO = OptimizerInfo(ReferenceSGD, configs=[{"lr": 0.1}, CONFIG])
LINEAR_INFO = SchedulerInfo(
    LinearToy,
    configs=[LINEAR],
    error_inputs=[ErrorInput({**LINEAR, "total_iters": 0}, match="total_iters")],
)


def optimizer_info(cls: type, **kw: Any) -> OptimizerInfo:
    return OptimizerInfo(cls, configs=[CONFIG], **kw)


def scheduler_info(cls: type, **kw: Any) -> SchedulerInfo:
    return SchedulerInfo(cls, configs=[LINEAR], **kw)


# ---------------------------------------------------------------- the kit passes correct classes
TestKitOnCorrectClasses = conformance_tests(optimizers=[SGD_INFO], schedulers=[LINEAR_INFO])


def test_check_optimizer_runs_everything_and_reports_what_did_not_apply() -> None:
    """check_optimizer returns the checks that did not apply, with the reason."""
    skipped = check_optimizer(SGD_INFO, compile=False)
    assert skipped == ["ReferenceSGD error_inputs: ReferenceSGD lists no error inputs"]


def test_check_scheduler_passes_a_correct_scheduler() -> None:
    """A correct closed-form scheduler passes every check."""
    assert check_scheduler(LINEAR_INFO, compile=False) == []


def test_conformance_tests_builds_one_test_per_check() -> None:
    """conformance_tests makes a pytest class with a test per check, compiled ones marked."""
    cls = conformance_tests(optimizers=[SGD_INFO], schedulers=[LINEAR_INFO])
    names = {n for n in vars(cls) if n.startswith("test_")}
    assert {f"test_optimizer_{n}" for n in OPTIMIZER_CHECKS} <= names
    assert {f"test_optimizer_{n}" for n in OPTIMIZER_CLASS_CHECKS} - {
        "test_optimizer_error_inputs"  # SGD_INFO lists none
    } <= names
    assert {f"test_scheduler_{n}" for n in SCHEDULER_CHECKS} <= names
    marks = {m.name for m in cls.test_optimizer_compiled_step.pytestmark}
    assert "compile" in marks
    assert not {n for n in vars(conformance_tests()) if n.startswith("test_")}


def test_known_failures_are_strict_xfails_and_skipped_by_the_battery() -> None:
    """known_failures: pytest gets a strict xfail, check_optimizer skips and says why."""

    class Syncs(ReferenceSGD):
        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            float(self.param_groups[0]["lr"])
            return super().step(closure)

    info = optimizer_info(Syncs, known_failures={"no_host_sync": "reads lr on the host"})
    skipped = check_optimizer(info, compile=False)
    assert "ReferenceSGD[0] no_host_sync: known failure: reads lr on the host" not in skipped
    assert any(s.endswith("no_host_sync: known failure: reads lr on the host") for s in skipped)
    cls = conformance_tests(optimizers=[info])
    (param,) = cls.test_optimizer_no_host_sync.pytestmark[0].args[1]
    (mark,) = param.marks
    assert mark.name == "xfail" and mark.kwargs["strict"] is True
    with pytest.raises(AssertionError, match="no_host_sync"):
        check_optimizer(optimizer_info(Syncs), compile=False)


def test_battery_lists_every_failure() -> None:
    """check_optimizer raises one AssertionError naming every failing check."""

    class Broken(ReferenceSGD):
        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p]["momentum_buffer"] = torch.zeros_like(p)  # new storage
                    p.sub_(0.1 * p.grad * float(group["lr"]))  # host sync
            return None

    with pytest.raises(AssertionError, match="conformance check") as info:
        check_optimizer(optimizer_info(Broken), compile=False)
    text = str(info.value)
    assert "static_step" in text
    assert "no_host_sync" in text


# ---------------------------------------------------------------- each optimizer check bites
class CreatesStateInStep(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.state[p].setdefault("lazy", torch.zeros_like(p))
        return super().step(closure)


class ReplacesStorage(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p]["momentum_buffer"] * group["momentum"] + p.grad
                self.state[p]["momentum_buffer"] = buf
                p.sub_(group["lr"] * buf)
        return None


class UpdatesParamsWithoutGrad(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
        return super().step(closure)


class IgnoresClosure(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        return super().step(None)


class ZeroesStateInPreinitialize(ReferenceSGD):
    """Resets the buffers in place whenever preinitialize runs (add_param_group, loads)."""

    def preinitialize(self) -> None:
        super().preinitialize()
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["momentum_buffer"].zero_()


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (CreatesStateInStep, "created state: state 'lazy'"),
        (ReplacesStorage, "replaced the storage"),
        (UpdatesParamsWithoutGrad, "whose grad is None"),
        (IgnoresClosure, "closure"),
        (ZeroesStateInPreinitialize, r"preinitialize\(\) after steps"),
    ],
)
def test_static_step_catches(cls: type, message: str) -> None:
    """Static-step contract: no new key, same storages, skip grad-less params, closures."""
    with pytest.raises(AssertionError, match=message):
        check_static_step(optimizer_info(cls), CONFIG)


class HiddenCounter(ReferenceSGD):
    """Keeps its step count in a Python attribute the state dict does not hold."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.t = 0

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        self.t += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] / self.t * p.grad)
        return None


def test_resume_catches_state_outside_the_state_dict() -> None:
    """Bitwise resume: a counter kept outside the state dict makes the resumed run drift."""
    with pytest.raises(AssertionError, match="resumed run vs uninterrupted"):
        check_state_dict_resume(optimizer_info(HiddenCounter), CONFIG)


class OneCountForAll(ReferenceSGD):
    """Counts steps per parameter, but its load gives every parameter the first one's
    count: right only while every parameter has taken every step."""

    def preinitialize(self) -> None:
        super().preinitialize()
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].setdefault("count", torch.zeros(()))

    def load_state_dict(self, state_dict: Any) -> None:
        super().load_state_dict(state_dict)
        params = [p for g in self.param_groups for p in g["params"]]
        for p in params[1:]:
            self.state[p]["count"].copy_(self.state[params[0]]["count"])

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.state[p]["count"].add_(1)
                    p.sub_(group["lr"] / self.state[p]["count"] * p.grad)
        return None


def test_resume_with_mixed_step_counts_and_dtypes() -> None:
    """The resume check skips a parameter for a while and runs each dtype it is given."""
    with pytest.raises(AssertionError, match="after load_state_dict: state 'count' of parameter 2"):
        check_state_dict_resume(optimizer_info(OneCountForAll), CONFIG)
    info = optimizer_info(ReferenceSGD, dtypes=(torch.float32, torch.float64))
    check_state_dict_resume(info, CONFIG)

    class Float32Only(ReferenceSGD):
        def load_state_dict(self, state_dict: Any) -> None:
            super().load_state_dict(state_dict)
            for p in self.param_groups[0]["params"]:
                self.state[p]["momentum_buffer"].copy_(
                    self.state[p]["momentum_buffer"].float().to(p.dtype)
                )

    with pytest.raises(AssertionError, match="float64"):
        check_state_dict_resume(
            optimizer_info(Float32Only, dtypes=(torch.float32, torch.float64)), CONFIG
        )


class ReplacesLrTensor(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            group["lr"] = torch.as_tensor(group["lr"]).clone()
        return super().step(closure)


class FloatOnlyLr(ReferenceSGD):
    """Treats a tensor lr as 'not set' and falls back to a default."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        saved = [g["lr"] for g in self.param_groups]
        for group in self.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"] = 0.1
        try:
            return super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, saved):
                group["lr"] = lr


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (ReplacesLrTensor, "replaced the tensor 'lr'"),
        (FloatOnlyLr, "lr as a 0-d tensor vs as a float"),
    ],
)
def test_tensor_hyperparams_catches(cls: type, message: str) -> None:
    """Tensor lr: read each step, never replaced, same trajectory as the float."""
    with pytest.raises(AssertionError, match=message):
        check_tensor_hyperparams(optimizer_info(cls), CONFIG)


class StepNeverAdvanced(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        flag, self.enable_global_step = self.enable_global_step, False
        try:
            return super().step(closure)
        finally:
            self.enable_global_step = flag


def test_global_step_catches_a_counter_that_does_not_count() -> None:
    """enable_global_step: the step state must count the steps taken."""
    check_global_step(optimizer_info(ReferenceSGD), CONFIG)
    with pytest.raises(AssertionError, match="'step' states are"):
        check_global_step(optimizer_info(StepNeverAdvanced), CONFIG)
    check_global_step(optimizer_info(StepNeverAdvanced, global_step_counts_steps=False), CONFIG)


def test_global_step_does_not_apply_without_a_counter() -> None:
    """A class without enable_global_step and without step state: the check does not apply."""

    class NoFlag(ReferenceSGD):
        def __init__(self, params: Any, lr: float = 0.1) -> None:
            super().__init__(params, lr=lr)

    with pytest.raises(NotApplicable):
        check_global_step(OptimizerInfo(NoFlag, configs=[{"lr": 0.1}]), {"lr": 0.1})


class FirstGroupLr(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        lr = self.param_groups[0]["lr"]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(lr * p.grad)
        return None


class ResetsStateOnAddGroup(ReferenceSGD):
    def preinitialize(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(p)


@pytest.mark.parametrize(
    ("cls", "message"),
    [(FirstGroupLr, "with two groups differs"), (ResetsStateOnAddGroup, "add_param_group")],
)
def test_param_groups_catches(cls: type, message: str) -> None:
    """Groups are independent; add_param_group keeps the existing state."""
    with pytest.raises(AssertionError, match=message):
        check_param_groups(optimizer_info(cls), CONFIG)


def test_error_inputs_check_the_exception_and_message() -> None:
    """Error inputs: a missing error, another type and a wrong message all fail."""

    class Validating(ReferenceSGD):
        def __init__(self, params: Any, lr: float = 0.1, **kw: Any) -> None:
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")
            super().__init__(params, lr=lr, **kw)

    good = ErrorInput({"lr": -1.0}, match="Invalid learning rate: -1.0")
    check_error_inputs(optimizer_info(Validating, error_inputs=[good]))
    with pytest.raises(AssertionError, match="nothing was raised"):
        check_error_inputs(
            optimizer_info(Validating, error_inputs=[ErrorInput({"lr": 1.0}, match="")])
        )
    with pytest.raises(AssertionError, match="does not match"):
        check_error_inputs(
            optimizer_info(Validating, error_inputs=[ErrorInput({"lr": -1.0}, match="momentum")])
        )
    with pytest.raises(AssertionError, match="expected TypeError"):
        check_error_inputs(
            optimizer_info(
                Validating, error_inputs=[ErrorInput({"lr": -1.0}, match="", error=TypeError)]
            )
        )


class CopiesBeforeChecking(ReferenceSGD):
    """Copies each parameter's state, and only then notices a key is missing."""

    def load_state_dict(self, state_dict: Any) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        if len(state_dict["param_groups"]) != len(self.param_groups):
            raise ValueError("group count")
        for i, p in enumerate(params):
            saved = state_dict["state"].get(i, {})
            if set(saved) != set(self.state[p]):
                raise ValueError(f"state of parameter {i} does not fit")
            for key, value in saved.items():
                self.state[p][key].copy_(value)


class AcceptsAnything(ReferenceSGD):
    def load_state_dict(self, state_dict: Any) -> None:
        torch.optim.Optimizer.load_state_dict(self, state_dict)


class DropsUnexpectedKeys(ReferenceSGD):
    """Loads a state dict after dropping the state keys it does not know."""

    def load_state_dict(self, state_dict: Any) -> None:
        sd = dict(state_dict)
        sd["state"] = {
            k: {n: v for n, v in st.items() if n in ("momentum_buffer", "step")}
            for k, st in state_dict["state"].items()
        }
        super().load_state_dict(sd)


class ScalesAfterAFailedLoad(ReferenceSGD):
    """A failed load leaves a Python attribute changed, which later steps read."""

    scale = 1.0

    def load_state_dict(self, state_dict: Any) -> None:
        self.scale = 2.0
        super().load_state_dict(state_dict)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * self.scale * p.grad)
        return None


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (CopiesBeforeChecking, "changed the optimizer"),
        (AcceptsAnything, "expected ValueError|storage"),
        (DropsUnexpectedKeys, r"unexpected state key\): expected ValueError"),
        (ScalesAfterAFailedLoad, "steps after the failed loads vs a twin"),
    ],
)
def test_mismatched_state_dict_catches(cls: type, message: str) -> None:
    """A mismatched state dict raises ValueError before anything is copied."""
    with pytest.raises(AssertionError, match=message):
        check_mismatched_state_dict(optimizer_info(cls), CONFIG)


class DensifiesSparse(ReferenceSGD):
    """Steps with a sparse gradient as if it were dense (no error)."""

    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and p.grad.is_sparse:
                    p.grad = p.grad.to_dense()
        return super().step(closure)


class UpdatesBeforeCheckingSparse(ReferenceSGD):
    """Updates each parameter, and only raises when it reaches the sparse gradient."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError("sparse gradients are not supported")
                p.sub_(group["lr"] * p.grad)
        return None


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (DensifiesSparse, "expected ValueError, nothing was raised"),
        (UpdatesBeforeCheckingSparse, "changed the optimizer"),
    ],
)
def test_sparse_gradient_catches(cls: type, message: str) -> None:
    """A sparse gradient raises ValueError naming it before anything changes."""
    with pytest.raises(AssertionError, match=message):
        check_sparse_gradient(optimizer_info(cls), CONFIG)


class AcceptsEmpty(ReferenceSGD):
    """Builds an optimizer without parameters (torch's own check skipped)."""

    def __init__(self, params: Any, **kwargs: Any) -> None:
        params = list(params)
        super().__init__(params or [torch.nn.Parameter(torch.zeros(1))], **kwargs)


class EmptyWithoutSayingSo(ReferenceSGD):
    def __init__(self, params: Any, **kwargs: Any) -> None:
        params = list(params)
        if not params:
            raise ValueError("bad params")
        super().__init__(params, **kwargs)


@pytest.mark.parametrize(
    ("cls", "message"),
    [(AcceptsEmpty, "nothing was raised"), (EmptyWithoutSayingSo, "does not match 'empty'")],
)
def test_empty_params_catches(cls: type, message: str) -> None:
    """An empty parameter list raises ValueError saying so."""
    with pytest.raises(AssertionError, match=message):
        check_empty_params(optimizer_info(cls))


class ItemLr(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            if torch.is_tensor(group["lr"]) and group["lr"] > 1:  # a Python branch on a tensor
                raise ValueError("lr too large")
        return super().step(closure)


def test_no_host_sync_catches_a_branch_on_a_tensor() -> None:
    """No host sync: a Python `if` on a tensor hyperparameter is caught."""
    with pytest.raises(AssertionError, match="__bool__"):
        check_no_host_sync_step(optimizer_info(ItemLr), CONFIG)


@pytest.mark.parametrize(
    "expr",
    [
        lambda t: t.item(),
        lambda t: float(t),
        lambda t: t.tolist(),
        lambda t: [0, 1][t.long()],
        lambda t: t.nonzero(),
    ],
)
def test_no_host_sync_context_catches(expr: Any) -> None:
    """no_host_sync() flags each way of reading a tensor on the host."""
    t = torch.tensor(1.0)
    expr(t)  # fine outside
    with pytest.raises(AssertionError, match="called Tensor"), no_host_sync("this"):
        expr(t)


class PythonCounter(ReferenceSGD):
    """A Python int used in the maths: a guard that fails every step."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.t = 0

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        self.t += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * p.grad * (1.0 / self.t))
        return None


class PrintsInStep(ReferenceSGD):
    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and p.grad.sum() > 0:  # data-dependent branch
                    p.sub_(group["lr"] * p.grad)
        return None


@pytest.mark.compile
def test_compiled_step_passes_reference() -> None:
    """A static-step optimizer compiles once across steps with a changing tensor lr."""
    check_compiled_step(optimizer_info(ReferenceSGD), CONFIG)


@pytest.mark.compile
@pytest.mark.parametrize(
    ("cls", "message"),
    [(PythonCounter, "compiled [0-9]+ times|graph break"), (PrintsInStep, "graph break")],
)
def test_compiled_step_catches(cls: type, message: str) -> None:
    """Compiled step: recompiles and graph breaks are failures."""
    with pytest.raises(AssertionError, match=message):
        check_compiled_step(optimizer_info(cls), CONFIG)


def test_compiled_step_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """WAFEROPT_SKIP_COMPILE=1 turns the compiled checks into 'not applicable'."""
    monkeypatch.setenv("WAFEROPT_SKIP_COMPILE", "1")
    with pytest.raises(NotApplicable):
        check_compiled_step(optimizer_info(PythonCounter), CONFIG)
    with pytest.raises(NotApplicable):
        check_scheduler_compiled_step(scheduler_info(LinearToy), LINEAR)


# ---------------------------------------------------------------- each scheduler check bites
class Recursive(LinearToy):
    """Halves a value it keeps (and saves) every step: not a closed form of the step."""

    def __init__(
        self,
        optimizer: Any,
        initial_learning_rate: float,
        end_learning_rate: float,
        total_iters: int,
        last_epoch: int = -1,
    ) -> None:
        self.current = torch.tensor(initial_learning_rate, dtype=torch.float64)
        super().__init__(
            optimizer, initial_learning_rate, end_learning_rate, total_iters, last_epoch
        )

    def step(self, *args: Any, **kwargs: Any) -> None:
        self.current.mul_(0.5)
        super().step()

    def _get_closed_form(self) -> torch.Tensor:
        return self.current.clone()


class ReplacesGroupTensor(LinearToy):
    def update_groups(self, values: list[Any]) -> None:
        for group, value in zip(self.optimizer.param_groups, values):
            if value is not None:
                group["lr"] = value.detach().clone()
        self.update_last_value(values)


class IgnoresTags(LinearToy):
    def _should_apply_to_param_group(self, group: dict[str, Any]) -> bool:
        return True


class ItemSchedule(LinearToy):
    def _get_closed_form(self) -> torch.Tensor:
        t = self.last_epoch.item()
        return self.constant(self.initial_learning_rate / (1 + t))


class BranchSchedule(LinearToy):
    def _get_closed_form(self) -> torch.Tensor:
        if self.last_epoch > 2:  # a Python branch on a tensor
            return self.constant(self.end_learning_rate)
        return self.constant(self.initial_learning_rate)


def test_closed_form_catches_a_recursive_schedule() -> None:
    """Closed form: after k steps equals a scheduler built with last_epoch=k-1."""
    with pytest.raises(AssertionError, match="last_epoch="):
        check_scheduler_closed_form(scheduler_info(Recursive), LINEAR)
    check_scheduler_closed_form(scheduler_info(Recursive, closed_form=False), LINEAR)


def test_in_place_catches_a_replaced_tensor() -> None:
    """In-place writes: the group keeps the very tensor it held."""
    with pytest.raises(AssertionError, match="replaced the tensor"):
        check_scheduler_in_place(scheduler_info(ReplacesGroupTensor), LINEAR)


def test_tags_catches_a_scheduler_that_ignores_them() -> None:
    """Tags: unmatched groups keep their value."""
    with pytest.raises(AssertionError, match=r"whose tags do not match|did not write"):
        check_scheduler_tags(scheduler_info(IgnoresTags), LINEAR)


@pytest.mark.parametrize(("cls", "message"), [(ItemSchedule, "item"), (BranchSchedule, "__bool__")])
def test_scheduler_no_host_sync_catches(cls: type, message: str) -> None:
    """No host sync in a scheduler step: neither .item() nor a branch on a tensor."""
    with pytest.raises(AssertionError, match=message):
        check_scheduler_no_host_sync(scheduler_info(cls), LINEAR)


@pytest.mark.compile
def test_scheduler_compiled_step_catches_a_branch_on_a_tensor() -> None:
    """A Python branch on last_epoch breaks the compiled optimizer + scheduler step."""
    check_scheduler_compiled_step(scheduler_info(LinearToy), LINEAR)
    with pytest.raises(AssertionError, match=r"graph break|compiled [0-9]+ times"):
        check_scheduler_compiled_step(scheduler_info(BranchSchedule), LINEAR)


def test_scheduler_error_inputs() -> None:
    """Scheduler error inputs run through the same matcher."""
    with pytest.raises(AssertionError, match="does not match"):
        check_scheduler(
            scheduler_info(
                LinearToy, error_inputs=[ErrorInput({**LINEAR, "total_iters": 0}, match="nope")]
            ),
            compile=False,
        )


class WalksMemoryFlat(ReferenceSGD):
    """Updates each parameter as one flat array from its first element, as torch's fused
    CPU kernels do: right for contiguous parameters, wrong elements for a slice."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                flat = p.as_strided((p.numel(),), (1,))
                flat.sub_(group["lr"] * p.grad.as_strided((p.numel(),), (1,)))
        return None


def test_memory_layouts_catches() -> None:
    """Non-contiguous parameters step as contiguous ones with the same values."""
    check_memory_layouts(SGD_INFO, {"lr": 0.1})  # the reference passes
    with pytest.raises(AssertionError, match="other memory layouts"):
        check_memory_layouts(optimizer_info(WalksMemoryFlat), {"lr": 0.1})
