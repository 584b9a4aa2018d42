"""The README demo (examples/demo.py) trains from its Model Zoo style configs."""

from __future__ import annotations

import subprocess
import sys

import pytest
from modelzoo_support import EXAMPLES, require_optimizer


@pytest.mark.parametrize("config", ["gpt_adamw_warmup_cosine.yaml", "gpt_legacy_mup.yaml"])
def test_demo_runs_and_the_loss_falls(config):
    if not (EXAMPLES / "demo.py").is_file():
        pytest.skip("examples/ is not beside this checkout")
    require_optimizer("AdamW")
    proc = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "demo.py"),
            "--config",
            str(EXAMPLES / "configs" / config),
            "--steps",
            "40",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "step   39  loss" in proc.stdout
    assert "optimizer: AdamW(" in proc.stdout
