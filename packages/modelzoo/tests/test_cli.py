"""``waferopt check`` and ``waferopt plot`` on Model Zoo configs."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from modelzoo_support import EXAMPLES, model_factory, require_optimizer
from tiny_models import TinyGPT

from waferopt.modelzoo import inspect_config
from waferopt.modelzoo.cli import check_command, plot_command
from waferopt.registry import ConfigError
from waferopt.registry.cli import main

CONFIGS = Path(__file__).parent / "configs"
BAD = CONFIGS / "bad"

# Each bad config lists its problems; every one must be reported, once, at its path.
BAD_PATHS = {
    "legacy_many_problems": [
        "optimizer.weight_decay",
        "optimizer.adjust_learning_rate.decoder_kernal",
        "optimizer.learning_rate[0].total_iter",
        "optimizer.learning_rate[1].alpha",
        "optimizer.learning_rate[2].scheduler",
    ],
    "trainer_many_problems": [
        "optimizer.AdamW.params[0].params[0]",
        "optimizer.AdamW.betas",
        "schedulers[0].SequentialLR.schedulers[0].LinearLR.total_iters",
        "schedulers[1].CosineDecay",
        "schedulers[2].NoSuchWD",
    ],
    "trainer_mixed_problems": [
        "optimizer.SGD.adjust_learning_rate.decoder_kernel",
        "optimizer.SGD.momentum",
        "schedulers[0].SequentialLR.milestones",
        "schedulers[1].LinearWD.total_iters",
    ],
}


GPT, DINO, MLP = (model_factory(n) for n in ("TinyGPT", "TinyDINO", "TinyMLP"))


def run_check(path: Path, model: str | None = GPT) -> tuple[int, str]:
    out = io.StringIO()
    code = check_command(str(path), model, out=out)
    return code, out.getvalue()


def test_every_bad_config_is_listed():
    assert sorted(p.stem for p in BAD.glob("*.yaml")) == sorted(BAD_PATHS)


@pytest.mark.parametrize("name", sorted(BAD_PATHS))
def test_bad_config_one_error_per_problem_naming_its_path(name):
    require_optimizer("AdamW")
    report = inspect_config(TinyGPT(), BAD / f"{name}.yaml")
    assert sorted(e.path for e in report.errors) == sorted(BAD_PATHS[name])
    # the file's comments count the problems too
    count = len(re.findall(r"# \d+:", (BAD / f"{name}.yaml").read_text()))
    assert count == len(BAD_PATHS[name])


@pytest.mark.parametrize("name", sorted(BAD_PATHS))
def test_check_prints_every_error_and_exits_1(name):
    require_optimizer("AdamW")
    code, text = run_check(BAD / f"{name}.yaml")
    assert code == 1
    assert f"{len(BAD_PATHS[name])} problems:" in text
    printed = [line for line in text.splitlines() if line.startswith("  - ")]
    for path in BAD_PATHS[name]:
        assert sum(line.startswith(f"  - {path}: ") for line in printed) == 1, (path, text)


def test_check_prints_the_build():
    require_optimizer("AdamW")
    code, text = run_check(CONFIGS / "legacy_mup_adamw.yaml")
    assert code == 0, text
    assert "format: legacy" in text
    assert re.search(r"optimizer: AdamW\(.*weight_decay=0\.01.*correct_bias=True", text)
    rows = [line.split() for line in text.splitlines() if re.match(r"  \d+\s", line)]
    # group, params, numel, tags, lr factor, weight_decay
    assert [(r[4], r[5]) for r in rows] == [
        ("10", "0.01"),
        ("0.125", "0.01"),
        ("1", "0.01"),
        ("1", "0"),
    ]
    assert "ScalePerParamLR (lr)" in text
    assert "SequentialLR (lr) milestones [10]" in text
    assert "CosineDecay" not in text and "LinearLR (lr)" in text


def test_check_shows_tags_milestones_settings_and_warnings():
    require_optimizer("AdamW")
    code, text = run_check(CONFIGS / "trainer_dino.yaml", DINO)
    assert code == 0, text
    assert "last_layer" in text and "backbone" in text
    assert "milestones [20]" in text and "milestones [10]" in text
    assert "writes the weight decay of param groups [1, 3]" in text
    code, text = run_check(CONFIGS / "legacy_constant_sgd.yaml", MLP)
    assert (
        "trainer settings (not applied by the optimizer): max_gradient_norm=1, log_summaries=True"
        in text
    )
    assert "ConstantLR (lr) learning_rate=0.01" in text


def test_check_with_a_model_factory(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "import torch\ndef tiny():\n    return torch.nn.Sequential(torch.nn.Linear(2, 2))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    code, text = run_check(CONFIGS / "legacy_int_lr_sgd.yaml", "my_models:tiny")
    assert code == 0, text
    assert "param groups: 2" in text
    code, text = run_check(CONFIGS / "legacy_int_lr_sgd.yaml", "no_such_model")
    assert code == 1 and "--model" in text


def test_console_script_check_exit_codes(capsys):
    assert main(["check", str(CONFIGS / "legacy_piecewise_sgd.yaml"), "--model", MLP]) == 0
    assert "PiecewiseConstantLR" in capsys.readouterr().out
    assert main(["check", str(BAD / "trainer_mixed_problems.yaml"), "--model", GPT]) == 1
    assert "4 problems:" in capsys.readouterr().out


def test_console_script_runs_as_a_process():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "waferopt.registry.cli",
            "check",
            str(BAD / "trainer_mixed_problems.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "schedulers[1].LinearWD.total_iters" in proc.stdout


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    require_optimizer("AdamW")
    output = tmp_path / "schedule.png"
    out = io.StringIO()
    code = plot_command(str(CONFIGS / "trainer_dino.yaml"), 60, str(output), DINO, out=out)
    assert code == 0, out.getvalue()
    data = output.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert "5 param groups over 60 steps (--steps)" in out.getvalue()


def test_plot_reports_errors_and_bad_steps(tmp_path):
    out = io.StringIO()
    assert (
        plot_command(
            str(BAD / "trainer_mixed_problems.yaml"), 10, str(tmp_path / "x.png"), GPT, out=out
        )
        == 1
    )
    assert "4 problems:" in out.getvalue()
    assert (
        plot_command(str(CONFIGS / "legacy_int_lr_sgd.yaml"), 0, str(tmp_path / "x.png"), out=out)
        == 1
    )
    assert not (tmp_path / "x.png").exists()


def test_trace_and_milestones_follow_the_schedule():
    """The plotted series are the groups' values, step by step; milestones are absolute."""
    from tiny_models import TinyMLP

    from waferopt.modelzoo import build
    from waferopt.modelzoo.describe import milestones, trace

    result = build(TinyMLP(), CONFIGS / "trainer_nested_sequential.yaml")
    marks = sorted({m.step for s in result.schedulers for m in milestones(s)})
    assert marks == [10, 15, 35]
    series = trace(result, 40)["lr"][0]
    assert (
        series[0] == 0.0 and series[10] == pytest.approx(1.0) and series[14] == pytest.approx(1.0)
    )
    assert series[25] == pytest.approx(0.5, rel=1e-6) and series[39] == 0.0


def test_check_without_a_model_uses_stand_in_groups():
    """No --model: one stand-in group per declared tag; the arguments and schedules are
    checked (and printed), the globs are not, and the output says so."""
    require_optimizer("AdamW")
    code, text = run_check(CONFIGS / "trainer_dino.yaml", None)
    assert code == 0, text
    assert "model: stand-in parameters" in text
    rows = [line.split() for line in text.splitlines() if re.match(r"  \d+\s", line)]
    assert [r[3] for r in rows] == ["-", "backbone", "head", "last_layer"]  # the config's tags
    assert [r[1] for r in rows] == ["0"] * 4  # no model parameters
    assert "no --model" in text
    code, text = run_check(BAD / "trainer_mixed_problems.yaml", None)
    assert code == 1
    assert "optimizer.SGD.momentum" in text and "schedulers[1].LinearWD.total_iters" in text
    assert "adjust_learning_rate.decoder_kernel" not in text  # a glob: needs the model


def test_model_factory_forms(tmp_path, monkeypatch):
    """--model takes package.module:factory or path/to/file.py:factory (a module-level
    nn.Module works too); anything else is an error at --model."""
    from waferopt.modelzoo.cli import load_model

    assert type(load_model(MLP)).__name__ == "TinyMLP"
    (tmp_path / "zoo_models.py").write_text(
        "import torch\nmodel = torch.nn.Linear(2, 2)\nnot_a_model = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert isinstance(load_model("zoo_models:model"), torch.nn.Linear)
    assert isinstance(load_model(f"{tmp_path / 'zoo_models.py'}:model"), torch.nn.Linear)
    for bad, match in [
        ("zoo_models:not_a_model", "not a torch.nn.Module"),
        ("zoo_models", "expected package.module:factory"),
        (f"{tmp_path / 'missing.py'}:model", "cannot load"),
        ("zoo_models:nothing", "cannot load"),
    ]:
        with pytest.raises(ConfigError, match=match):
            load_model(bad)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            "trainer:\n  init:\n    optimizer:\n      SGD: {lr: 0.1}\n    loop: {max_steps: 25}\n",
            25,
        ),
        ("optimizer:\n  SGD: {lr: 0.1}\nrunconfig: {max_steps: 7}\n", 7),
        (
            "optimizer:\n  optimizer_type: SGD\n  learning_rate:\n"
            "    - {scheduler: Linear, initial_learning_rate: 0.0, end_learning_rate: 0.1, total_iters: 10}\n"
            "    - {scheduler: CosineDecay, initial_learning_rate: 0.1, end_learning_rate: 0.0, total_iters: 30}\n",
            40,
        ),
    ],
)
def test_plot_steps_come_from_the_config(tmp_path, config, expected):
    """plot without --steps: max_steps (trainer loop or runconfig), else where the
    schedules end."""
    pytest.importorskip("matplotlib")
    require_optimizer("SGD")
    path = tmp_path / "config.yaml"
    path.write_text(config)
    out = io.StringIO()
    code = plot_command(str(path), None, str(tmp_path / "s.png"), MLP, out=out)
    assert code == 0, out.getvalue()
    assert f"over {expected} steps (from the config)" in out.getvalue()


def test_plot_without_steps_anywhere_asks_for_them(tmp_path):
    require_optimizer("SGD")
    path = tmp_path / "config.yaml"
    path.write_text("optimizer:\n  optimizer_type: SGD\n  learning_rate: 0.1\n")
    out = io.StringIO()
    assert plot_command(str(path), None, str(tmp_path / "s.png"), out=out) == 1
    assert "give --steps" in out.getvalue()
    assert not (tmp_path / "s.png").exists()


def test_max_steps_of_the_example_config():
    """The legacy example carries runconfig.max_steps (300)."""
    from waferopt.modelzoo import build
    from waferopt.modelzoo.cli import steps_of
    from waferopt.modelzoo.formats import load_config

    path = EXAMPLES / "configs" / "gpt_legacy_mup.yaml"
    require_optimizer("AdamW")
    config = load_config(path)
    assert steps_of(config, build(TinyGPT(), config)) == 300


# ---------------------------------------------------------------------------- consistency
# (issue 11, item 5): --strict, each message once, YAML errors located, missing extras.
WARNS = """\
optimizer:
  optimizer_type: AdamW
  learning_rate: 0.001
  correct_bais: false   # a near miss of correct_bias: a UserWarning
  foo_bar: 1            # unknown: the log line Cerebras writes
  beta1: 0.8            # a 1.x name: a DeprecationWarning
"""
CLEAN = """\
optimizer:
  optimizer_type: SGD
  learning_rate: 0.01
  momentum: 0.9
  max_gradient_norm: 1.0   # a trainer key: returned, not a warning
"""


def _write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_check_strict_fails_on_every_warning_build_gives(tmp_path, capsys):
    """A config that builds with warnings exits 0 (as build() succeeds) and 1 with
    --strict; a clean one exits 0 either way."""
    require_optimizer("AdamW")
    warns = str(_write(tmp_path, WARNS))
    assert main(["check", warns]) == 0
    assert "warnings: 3" in capsys.readouterr().out
    assert main(["check", "--strict", warns]) == 1
    out = capsys.readouterr().out
    assert "warnings: 3" in out and "--strict: 3 warning(s) count as problems" in out
    clean = str(_write(tmp_path, CLEAN, "clean.yaml"))
    assert main(["check", "--strict", clean]) == 0
    assert "warnings:" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "key",
    [
        "optimizer.AdamW.correct_bais",  # a near miss
        "optimizer.AdamW.foo_bar",  # no near miss
        "optimizer.AdamW.eps",  # a number YAML reads as text
        "optimizer.AdamW.beta2",  # a 1.x name
    ],
)
def test_check_strict_fails_for_each_kind_of_warning(tmp_path, key):
    """Each thing build() warns about, alone in a config, fails --strict."""
    require_optimizer("AdamW")
    value = {"eps": "1e-08", "beta2": 0.99}.get(key.rsplit(".", 1)[1], 1)
    text = f"optimizer:\n  AdamW:\n    lr: 0.001\n    {key.rsplit('.', 1)[1]}: {value}\n"
    path = str(_write(tmp_path, text))
    assert check_command(path, out=io.StringIO()) == 0
    out = io.StringIO()
    assert check_command(path, out=out, strict=True) == 1
    assert "warnings: 1" in out.getvalue(), out.getvalue()


def test_check_prints_each_message_once(tmp_path, capsys):
    """Every warning and log line is printed once, by the command: nothing on stderr
    (neither the warnings module's copy nor the log's), each key once in the list."""
    require_optimizer("AdamW")
    path = str(_write(tmp_path, WARNS))
    main(["check", path])
    captured = capsys.readouterr()
    assert captured.err == ""
    notes = [line for line in captured.out.splitlines() if line.startswith("  - ")]
    assert len(notes) == 3, captured.out
    for key in ("correct_bais", "foo_bar", "beta1"):
        assert sum(key in line for line in notes) == 1, (key, notes)


def test_check_warnings_are_printed_with_errors_too(tmp_path, capsys):
    require_optimizer("AdamW")
    path = str(_write(tmp_path, WARNS.replace("learning_rate: 0.001", "learning_rate: -1")))
    assert main(["check", path]) == 1
    out = capsys.readouterr().out
    assert "1 problem:" in out and "warnings: 3" in out


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("optimizer:\n  optimizer_type: SGD\n  learning_rate: [0.1\n  momentum: 0.9\n", ":4:11:"),
        ("optimizer:\n  optimizer_type: SGD\n\tlearning_rate: 0.1\n", ":3:1:"),
        ("optimizer: {optimizer_type: SGD\n", ":2:1:"),
    ],
)
def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path, capsys, text, where):
    path = _write(tmp_path, text, "broken.yaml")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "not valid YAML" in line)
    assert f"{path}{where} not valid YAML: " in line, out
    assert "<unicode string>" not in out


def test_check_without_pyyaml_says_what_to_install(monkeypatch, capsys):
    """PyYAML missing: one line on stderr naming the extra to install, exit status 2."""
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    assert main(["check", str(CONFIGS / "legacy_constant_sgd.yaml")]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "waferopt check: reading YAML configs needs PyYAML, which is not installed: "
        "pip install 'waferopt-modelzoo[yaml]'"
    ]
    assert "Traceback" not in captured.out + captured.err


def test_plot_without_matplotlib_says_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    output = tmp_path / "schedule.png"
    config = str(CONFIGS / "legacy_constant_sgd.yaml")
    assert main(["plot", config, "--steps", "5", "-o", str(output), "--model", MLP]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "waferopt plot: waferopt plot needs matplotlib, which is not installed: "
        "pip install 'waferopt-modelzoo[plot]'"
    ]
    assert not output.exists()


def test_plot_without_pyyaml_says_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "yaml", None)
    config = str(CONFIGS / "legacy_constant_sgd.yaml")
    assert main(["plot", config, "-o", str(tmp_path / "x.png")]) == 2
    assert "pip install 'waferopt-modelzoo[yaml]'" in capsys.readouterr().err


def test_check_without_pyyaml_as_a_process(tmp_path):
    """The same from the console script in a fresh process (no traceback on stderr)."""
    blocker = tmp_path / "yaml.py"
    blocker.write_text("raise ImportError('No module named yaml (blocked by the test)')\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "waferopt.registry.cli",
            "check",
            str(CONFIGS / "legacy_constant_sgd.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith("pip install 'waferopt-modelzoo[yaml]'")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "holds no YAML document: expected a mapping"),
        ("# only a comment\n", "holds no YAML document: expected a mapping"),
        ("- a\n- b\n", ": the config must be a YAML mapping, got list"),
    ],
)
def test_a_yaml_file_that_is_not_a_mapping_is_named(tmp_path, capsys, text, expected):
    path = _write(tmp_path, text, "odd.yaml")
    assert main(["check", str(path)]) == 1
    assert f"  - {path}{' ' if expected[0] != ':' else ''}{expected}" in capsys.readouterr().out
