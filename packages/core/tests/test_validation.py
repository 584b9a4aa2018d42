"""Argument checks: numbers float32 cannot hold are rejected where they are born (issue 11.1)."""

from __future__ import annotations

import math

import pytest
import torch

from waferopt.core import check_betas, check_finite, check_non_negative, check_unit_interval
from waferopt.core.testing import ReferenceSGD
from waferopt.core.validation import FLOAT32_MAX

TOO_BIG = 3.4028235677973366e38  # finite in float64, inf in float32


def test_float32_max_is_the_edge():
    assert torch.tensor(FLOAT32_MAX, dtype=torch.float32).isfinite()
    assert not torch.tensor(TOO_BIG, dtype=torch.float32).isfinite()


@pytest.mark.parametrize("check", [check_non_negative, check_finite])
def test_values_past_float32_are_rejected_naming_the_argument(check):
    check("lr", FLOAT32_MAX)
    with pytest.raises(ValueError, match=r"Invalid lr value: .*float32"):
        check("lr", TOO_BIG)
    with pytest.raises(ValueError, match=r"Invalid lr value: .*float32"):
        check("lr", torch.tensor(TOO_BIG, dtype=torch.float64))


def test_check_finite_takes_any_sign_and_rejects_nan_and_inf():
    check_finite("decay_rate", -0.8)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=r"decay_rate.*finite"):
            check_finite("decay_rate", bad)
    with pytest.raises(ValueError, match="decay_rate: expected a number"):
        check_finite("decay_rate", "fast")


def test_unit_interval_and_betas_keep_their_messages():
    with pytest.raises(ValueError, match="expected 0 <= rho <= 1"):
        check_unit_interval("rho", 1.5)
    with pytest.raises(ValueError, match="index 1"):
        check_betas("betas", (0.9, 1.0))


def test_base_optimizer_checks_the_layout_of_a_state_dict_before_loading():
    p = torch.nn.Parameter(torch.ones(2))
    opt = ReferenceSGD([p], lr=0.1)
    good = opt.state_dict()
    for bad, match in (
        ({**good, "state": []}, "'state' must be a mapping"),
        ({**good, "param_groups": 5}, "'param_groups' must be a list"),
        (
            {**good, "param_groups": [{"lr": 0.1}]},
            r"param_groups\[0\] must be a mapping with a 'params'",
        ),
    ):
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(bad)
    opt.load_state_dict(good)
