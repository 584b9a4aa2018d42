"""Schedule shapes: one file per shape (or family of shapes), each written once.

Each file holds a shape's formula (a pure function of the step ``t``, written with
:func:`waferopt.core.schedule.ops` so that it runs on Python floats in an eager step
and on tensors under ``torch.compile``), its :class:`~waferopt.core.schedule.Schedule`
(arguments, names, validation) and the three classes derived from it: ``<Name>LR``,
``<Name>WD`` and ``<Name>Scheduler``. This package exports the formulas.

Example:
    >>> import torch
    >>> from waferopt.schedulers import shapes
    >>> t = torch.tensor(50.0, dtype=torch.float64)
    >>> float(shapes.cosine_decay(t, initial=1.0, end=0.0, total_iters=100))
    0.5
    >>> round(shapes.cosine_decay(50.0, initial=1.0, end=0.0, total_iters=100), 12)
    0.5
"""

from __future__ import annotations

from waferopt.core.schedule import Schedule

from .constant import CONSTANT, constant
from .cosine_annealing import (
    COSINE_ANNEALING,
    COSINE_ANNEALING_WARM_RESTARTS,
    cosine_annealing,
    cosine_annealing_warm_restarts,
)
from .cosine_decay import COSINE_DECAY, cosine_decay
from .cyclic import CYCLIC, cyclic
from .exponential import EXPONENTIAL, exponential_decay
from .inverse_sqrt_decay import INVERSE_SQRT_DECAY, inverse_sqrt_decay
from .inverse_time_decay import INVERSE_TIME_DECAY, inverse_time_decay
from .lambda_product import LAMBDA, lambda_product
from .one_cycle import ONE_CYCLE, one_cycle
from .piecewise_constant import PIECEWISE_CONSTANT, piecewise_constant
from .polynomial import LINEAR, POLYNOMIAL, polynomial_decay
from .step_decay import MULTI_STEP, MULTIPLICATIVE, STEP, multi_step, multiplicative, step_decay
from .warmup_stable_decay import WARMUP_STABLE_DECAY, warmup_stable_decay

__all__ = [
    "constant",
    "cosine_annealing",
    "cosine_annealing_warm_restarts",
    "cosine_decay",
    "cyclic",
    "exponential_decay",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "lambda_product",
    "multi_step",
    "multiplicative",
    "one_cycle",
    "piecewise_constant",
    "polynomial_decay",
    "step_decay",
    "warmup_stable_decay",
]

SCHEDULES: tuple[Schedule, ...] = (
    CONSTANT,
    POLYNOMIAL,
    LINEAR,
    EXPONENTIAL,
    INVERSE_TIME_DECAY,
    INVERSE_SQRT_DECAY,
    COSINE_DECAY,
    PIECEWISE_CONSTANT,
    MULTI_STEP,
    STEP,
    COSINE_ANNEALING,
    LAMBDA,
    COSINE_ANNEALING_WARM_RESTARTS,
    MULTIPLICATIVE,
    CYCLIC,
    ONE_CYCLE,
    WARMUP_STABLE_DECAY,
)
"""Every first-party shape, in the order of the spec's table (then the additions)."""
