"""Which first-party distribution provides which name.

This is the only place where the registry knows the names of the first-party
packages: it is used to say what to ``pip install`` for a name that is not installed,
never to load them. Its keys are distributions of the one list
(:mod:`waferopt.registry.distributions`; a test checks it).
"""

from __future__ import annotations

_LR = [
    "ConstantLR",
    "PolynomialLR",
    "LinearLR",
    "ExponentialLR",
    "InverseExponentialTimeDecayLR",
    "InverseSquareRootDecayLR",
    "CosineDecayLR",
    "SequentialLR",
    "PiecewiseConstantLR",
    "MultiStepLR",
    "StepLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "CosineAnnealingWarmRestarts",
    "MultiplicativeLR",
    "ChainedScheduler",
    "ChainedLR",
    "CyclicLR",
    "OneCycleLR",
    "ScalePerParamLR",
]
_WD = [
    "ConstantWD",
    "PolynomialWD",
    "LinearWD",
    "ExponentialWD",
    "InverseExponentialTimeDecayWD",
    "InverseSquareRootDecayWD",
    "CosineDecayWD",
    "SequentialWD",
    "PiecewiseConstantWD",
    "MultiStepWD",
    "StepWD",
    "CosineAnnealingWD",
    "LambdaWD",
    "CosineAnnealingWarmRestartsWD",
    "MultiplicativeWD",
    "ChainedWD",
    "CyclicWD",
    "OneCycleWD",
    "ScalePerParamWD",
]

# First-party schedulers beyond the spec.
_EXTRA_SCHEDULERS = ["WarmupStableDecayLR", "WarmupStableDecayWD"]

NAMES_BY_DISTRIBUTION: dict[str, tuple[str, ...]] = {
    "waferopt-sgd": ("SGD", "ASGD"),
    "waferopt-adam": ("AdamBase", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Lamb"),
    "waferopt-adaptive": ("Adadelta", "Adagrad", "Adafactor", "RMSprop"),
    "waferopt-sign": ("Lion", "Rprop"),
    "waferopt-modern": ("Muon", "AdamWScheduleFree", "Prodigy", "AdEMAMix"),
    "waferopt-schedulers": tuple(_LR + _WD + _EXTRA_SCHEDULERS),
}

SPEC_OPTIMIZERS: tuple[str, ...] = tuple(
    n
    for dist in ("waferopt-sgd", "waferopt-adam", "waferopt-adaptive", "waferopt-sign")
    for n in NAMES_BY_DISTRIBUTION[dist]
)
SPEC_LR_SCHEDULERS: tuple[str, ...] = tuple(_LR)
SPEC_WD_SCHEDULERS: tuple[str, ...] = tuple(_WD)


def distribution_for(name: str) -> str | None:
    """The first-party distribution that provides ``name`` (case-insensitive), if any."""
    lowered = name.lower()
    for dist, names in NAMES_BY_DISTRIBUTION.items():
        if any(n.lower() == lowered for n in names):
            return dist
    return None


def canonical_name(name: str) -> str | None:
    """The catalogue's spelling of ``name`` (case-insensitive), if it is first-party."""
    lowered = name.lower()
    for names in NAMES_BY_DISTRIBUTION.values():
        for n in names:
            if n.lower() == lowered:
                return n
    return None
