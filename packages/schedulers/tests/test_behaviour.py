"""Tags, composite validation, step cost, the plugin records."""

from __future__ import annotations

import pytest
import torch
from _sched_helpers import make_optimizer
from torch.utils._python_dispatch import TorchDispatchMode

import waferopt.schedulers as S
from waferopt.core import Kind, LRScheduler, Scheduler, WeightDecayScheduler


# ----------------------------------------------------------------------------- tags
def test_tagged_scheduler_updates_only_intersecting_groups(tagged_optimizer):
    before = [g["lr"] for g in tagged_optimizer.param_groups]
    sched = S.ConstantLR(tagged_optimizer, 0.5, param_group_tags=["embedding", "nothing"])
    lrs = [g["lr"] for g in tagged_optimizer.param_groups]
    assert lrs[0] == before[0]
    assert float(lrs[1]) == 0.5
    assert lrs[2] == before[2]
    assert sched.get_last_lr()[0] is None
    assert sched.get_last_lr()[2] is None


def test_untagged_scheduler_updates_every_group(tagged_optimizer):
    S.ConstantWD(tagged_optimizer, 0.25)
    assert [float(g["weight_decay"]) for g in tagged_optimizer.param_groups] == [0.25] * 3


def test_tags_that_match_nothing_are_an_error(tagged_optimizer):
    with pytest.raises(ValueError, match="decoder"):
        S.ConstantLR(tagged_optimizer, 0.5, param_group_tags="missing")


def test_two_tagged_schedulers_share_an_optimizer(tagged_optimizer):
    enc = S.CosineDecayLR(tagged_optimizer, 0.1, 0.0, 10, param_group_tags="encoder")
    dec = S.ConstantLR(tagged_optimizer, 0.02, param_group_tags={"decoder"})
    for _ in range(5):
        enc.step()
        dec.step()
    groups = tagged_optimizer.param_groups
    assert float(groups[0]["lr"]) == pytest.approx(0.05, rel=1e-6)
    assert float(groups[1]["lr"]) == pytest.approx(0.02)
    assert groups[2]["lr"] == 0.1


def test_composite_adopts_and_checks_children_tags(tagged_optimizer):
    o = tagged_optimizer
    a = S.LinearLR(o, 0.0, 0.1, 5, param_group_tags="encoder")
    b = S.CosineDecayLR(o, 0.1, 0.0, 5, param_group_tags="encoder")
    seq = S.SequentialLR(o, [a, b], [5])
    assert seq.param_group_tags == {"encoder"}
    c = S.LinearLR(o, 0.0, 0.1, 5, param_group_tags="encoder")
    d = S.CosineDecayLR(o, 0.1, 0.0, 5)
    with pytest.raises(
        ValueError, match=r"schedulers\[1\].*param_group_tags|param_group_tags.*schedulers\[1\]"
    ):
        S.SequentialLR(o, [c, d], [5])


def test_scale_per_param_factors(optimizer):
    o = make_optimizer(groups=3)
    o.param_groups[0]["adjust_learning_rate"] = 0.5
    o.param_groups[2]["adjust_val"] = 3.0
    sched = S.ScalePerParamLR(o, S.ConstantLR(o, 0.2))
    assert [float(g["lr"]) for g in o.param_groups] == pytest.approx([0.1, 0.2, 0.6])
    assert sched.lr_adjustment_scalars == [0.5, 1.0, 3.0]


# ----------------------------------------------------------------------------- composite checks
def test_sequential_checks():
    o = make_optimizer()
    a, b = S.LinearLR(o, 0.0, 0.1, 5), S.ConstantLR(o, 0.1)
    with pytest.raises(ValueError, match="len\\(milestones\\)"):
        S.SequentialLR(o, [a, b], [5, 6])
    with pytest.raises(TypeError, match="milestones"):
        S.SequentialLR(o, [a, b], [5.5])
    with pytest.raises(ValueError, match="non-decreasing"):
        S.SequentialLR(o, [a, b, S.ConstantLR(o, 0.1)], [5, 3])
    with pytest.raises(ValueError, match="'lr'"):
        S.SequentialLR(o, [S.ConstantWD(o, 0.1)], [])
    with pytest.raises(ValueError, match="another optimizer"):
        S.SequentialLR(o, [a, S.ConstantLR(make_optimizer(), 0.1)], [5])
    with pytest.raises(ValueError, match="same param-group key"):
        S.SequentialScheduler(o, [S.ConstantWD(o, 0.1), S.ConstantLR(o, 0.1)], [5])
    with pytest.raises(ValueError, match="ScalePerParamLR"):
        S.SequentialLR(o, [S.ScalePerParamLR(o, S.ConstantLR(o, 0.1))], [])


def test_sequential_single_child_and_total_iters():
    o = make_optimizer()
    single = S.SequentialLR(o, [S.ConstantLR(o, 0.3)], [])
    assert float(o.param_groups[0]["lr"]) == pytest.approx(0.3)
    assert single.total_iters is None
    seq = S.SequentialLR(o, [S.LinearLR(o, 0.0, 0.1, 5), S.CosineDecayLR(o, 0.1, 0.0, 7)], [5])
    assert seq.total_iters == 12


def test_sequential_boundaries_are_exact():
    """At t = milestone the next child starts at its own step 0 (no off-by-one)."""
    o = make_optimizer()
    seq = S.SequentialLR(o, [S.LinearLR(o, 0.0, 1.0, 4), S.LinearLR(o, 10.0, 0.0, 10)], [4])
    values = [float(o.param_groups[0]["lr"])]
    for _ in range(6):
        seq.step()
        values.append(float(o.param_groups[0]["lr"]))
    assert values == pytest.approx([0.0, 0.25, 0.5, 0.75, 10.0, 9.0, 8.0])


def test_chained_checks():
    o = make_optimizer()
    with pytest.raises(ValueError, match="initial_val"):
        S.ChainedLR([S.ConstantLR(o, 0.1), S.CyclicLR(o, 0.01, 0.1)])
    with pytest.raises(ValueError, match="initial_val 0"):
        S.ChainedLR([S.ConstantLR(o, 0.1), S.StepLR(o, 0.0, 2, 0.5)])
    with pytest.raises(TypeError, match="schedulers"):
        S.ChainedLR([])
    chained = S.ChainedGenericScheduler(
        [S.ConstantScheduler(o, "momentum", 0.9), S.StepScheduler(o, "momentum", 1.0, 1, 0.5)]
    )
    chained.step()
    assert float(o.param_groups[0]["momentum"]) == pytest.approx(0.45)


def test_children_leave_the_optimizer_registry():
    o = make_optimizer()
    a, b = S.LinearLR(o, 0.0, 0.1, 5), S.ConstantLR(o, 0.1)
    seq = S.SequentialLR(o, [a, b], [5])
    assert a not in o._schedulers_registry
    assert b not in o._schedulers_registry
    assert seq in o._schedulers_registry


# ----------------------------------------------------------------------------- step cost
class _CountOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def _ops_per_step(sched: Scheduler, at: int) -> int:
    sched.load_state_dict({"last_epoch": torch.tensor(at)})
    with _CountOps() as counter:
        sched.step()
    return counter.count


@pytest.mark.parametrize(
    "make",
    [
        lambda o: S.CosineDecayLR(o, 0.1, 0.0, 100),
        lambda o: S.CosineAnnealingWarmRestarts(o, 0.1, 3, 2),
        lambda o: S.CyclicLR(o, 0.01, 0.1, 5, mode="triangular2"),
        lambda o: S.OneCycleLR(o, 0.01, 0.1, 100, three_phase=True),
        lambda o: S.MultiStepLR(o, 0.1, 0.5, [10, 100, 1000]),
        lambda o: S.PiecewiseConstantLR(o, [0.1, 0.01, 0.001], [10, 100]),
        lambda o: S.SequentialLR(
            o, [S.LinearLR(o, 0.0, 0.1, 10), S.CosineDecayLR(o, 0.1, 0.0, 90)], [10]
        ),
    ],
)
def test_step_cost_does_not_grow_with_the_step(make):
    sched = make(make_optimizer())
    assert _ops_per_step(sched, 5) == _ops_per_step(sched, 10**6) == _ops_per_step(sched, 10**12)


def _traced_ops(sched: Scheduler, at: int) -> int:
    """Ops of the traced closed form (what torch.compile / a CUDA graph records)."""
    with _CountOps() as counter:
        sched._value_tensor(torch.tensor(at))
    return counter.count


def test_sequential_cost_is_linear_in_children():
    """The traced form evaluates every child once (the eager step evaluates one child on
    the host and writes once: test_eager_step_writes_once_per_group)."""

    def ops(n: int) -> int:
        o = make_optimizer()
        children = [S.CosineDecayLR(o, 0.1, 0.0, 10) for _ in range(n)]
        return _traced_ops(S.SequentialLR(o, children, list(range(10, 10 * n, 10))), 10**6)

    counts = [ops(n) for n in (1, 2, 4, 8)]
    per_child = counts[1] - counts[0]
    assert per_child > 0
    assert counts == [counts[0] + per_child * (n - 1) for n in (1, 2, 4, 8)]


def test_step_runs_on_meta_tensors():
    """Pure tensor ops: a scheduler over parameters on the meta device steps (nothing is read)."""
    o = make_optimizer()
    for g in o.param_groups:
        g["params"] = [torch.nn.Parameter(torch.empty(2, device="meta"))]
    sched = S.SequentialLR(o, [S.LinearLR(o, 0.0, 0.1, 10), S.OneCycleLR(o, 0.01, 0.1, 100)], [10])
    sched.step()
    assert o.param_groups[0]["lr"].device.type == "meta"


# ----------------------------------------------------------------------------- plugin records
def test_plugin_registers_every_class_once():
    from waferopt.schedulers._plugin import register_schedulers

    records = register_schedulers()
    names = [r.name for r in records]
    assert len(names) == len(set(names))
    for record in records:
        cls = record.load()
        base = {Kind.LR_SCHEDULER: LRScheduler, Kind.WD_SCHEDULER: WeightDecayScheduler}.get(
            record.kind, Scheduler
        )
        assert issubclass(cls, base), record
        assert record.description
    exported = {
        n for n in S.__all__ if n[0].isupper() and n not in ("LRScheduler", "WeightDecayScheduler")
    }
    assert exported - {"ChainedScheduler"} == set(names)
    chained = next(r for r in records if r.name == "ChainedLR")
    assert "ChainedScheduler" in chained.aliases


def test_the_records_read_from_the_sources_are_the_classes():
    """The plugin's names, read from the shape and composite files as text, are those of
    the classes those files define: each shape's three classes, its summary and aliases,
    in the order of the modules."""
    from waferopt.schedulers._index import ENTRIES
    from waferopt.schedulers._names import entries

    classes = [(lr.__name__, wd.__name__, g.__name__, d, a) for lr, wd, g, d, a in ENTRIES]
    assert [tuple(e) for e in entries()] == classes
    assert len(classes) == 20  # 17 shapes (Linear and the warm restarts share a file), 3 composites


def test_listing_the_records_imports_no_torch():
    """register_schedulers reads names without importing a shape, a composite or torch."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from waferopt.schedulers._plugin import register_schedulers\n"
        "print(len(register_schedulers()), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["60", "False"]


_SHAPE = """
from waferopt.core.schedule import Schedule
SUMMARY = "A summary."
A = Schedule("A", f, summary={summary}, args=[], lr_aliases={aliases})
{classes}
"""


@pytest.mark.parametrize(
    ("summary", "aliases", "classes", "error"),
    [
        (
            "SUMMARY",
            "()",
            "AL, AW, AS = A.classes(__name__)",
            r"shape\.py:4: summary= is not a string literal",
        ),
        (
            '"A."',
            "ALIASES",
            "AL, AW, AS = A.classes(__name__)",
            r":4: lr_aliases= is not a tuple of string literals",
        ),
        ('"A."', "()", "", r"shape\.py:4: A: a Schedule without `\.\.\. = A\.classes"),
        ('"A."', "()", "ALL = A.classes(__name__)", r":5: classes\(\) assigned to something"),
    ],
)
def test_a_shape_file_the_reader_cannot_read_is_an_error_naming_the_line(
    tmp_path, summary, aliases, classes, error
):
    """A summary or aliases that are not literals, or a Schedule whose classes are not
    bound to three names, stop the reader with the file and line, never a wrong record."""
    from waferopt.schedulers._names import _shapes

    path = tmp_path / "shape.py"
    path.write_text(_SHAPE.format(summary=summary, aliases=aliases, classes=classes))
    with pytest.raises(ValueError, match=error):
        _shapes(path)
    path.write_text(
        _SHAPE.format(summary='"A."', aliases='("B",)', classes="X, Y, Z = A.classes(__name__)")
    )
    assert [tuple(n) for n in _shapes(path)] == [("X", "Y", "Z", "A", ("B",))]
