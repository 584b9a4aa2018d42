"""Arguments several shapes share (declared once, used by name in each shape file)."""

from __future__ import annotations

from waferopt.core.schedule import Arg, checks

INITIAL = Arg(
    "initial_val",
    checks.number(),
    param="initial",
    lr_name="initial_learning_rate",
    doc="the value at step 0.",
    annotation="float",
)
END = Arg(
    "end_val",
    checks.number(),
    param="end",
    lr_name="end_learning_rate",
    doc="the value from step ``total_iters`` on.",
    annotation="float",
)
TOTAL_ITERS = Arg(
    "total_iters",
    checks.integer(minimum=1),
    doc="number of decay steps (>= 1).",
    annotation="int",
)
STAIRCASE = Arg(
    "staircase",
    checks.flag(),
    default=False,
    doc="decay at discrete intervals (floor the exponent).",
    annotation="bool",
)
GAMMA = Arg("gamma", checks.number(), doc="the multiplicative factor.", annotation="float")
