"""Hugging Face ``Trainer`` trains through waferopt's optimizer and schedule (passed as
``optimizers=(optimizer, scheduler)``), resumes from its own checkpoint folder, and logs
the lr of every step.

``Trainer`` steps the scheduler after every optimizer step. It reads
``lr_scheduler.get_last_lr()[0]`` between the two (a 0-d tensor here, which it turns into
a float at once) and logs it with the step: the lr logged at global step ``k`` is the lr
that step ``k`` trained with, the schedule's value after ``k - 1`` scheduler steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from _common import (
    BATCH,
    BATCHES_PER_EPOCH,
    assert_same_weights,
    data,
    linear,
    manual_training,
    optimizer_and_scheduler,
    reference_lr,
)

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

STEPS = 16


class Regression(torch.nn.Module):
    """A plain module: Trainer needs a dict with "loss" back, nothing else."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.layer = linear(seed)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.layer(x)
        return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}


class Samples(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.x, self.y = data()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


def trainer(model: Regression, out: Path, max_steps: int) -> Any:
    """A Trainer on the CPU, in order (no shuffle), no gradient clipping, logging and
    saving every STEPS // 2 steps, with waferopt's optimizer and schedule."""
    args = transformers.TrainingArguments(
        output_dir=str(out),
        max_steps=max_steps,
        per_device_train_batch_size=BATCH,
        train_sampling_strategy="sequential",
        max_grad_norm=0.0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=STEPS // 2,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )
    return transformers.Trainer(
        model=model,
        args=args,
        train_dataset=Samples(),
        optimizers=optimizer_and_scheduler(model.parameters()),
    )


def logged_lrs(trainer: Any) -> dict[int, float]:
    """``{global step: lr}`` from the trainer's log history."""
    return {
        e["step"]: e["learning_rate"] for e in trainer.state.log_history if "learning_rate" in e
    }


def batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    x, y = data()
    return [
        (x[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH])
        for i in (k % BATCHES_PER_EPOCH for k in range(n))
    ]


def test_trains_like_the_plain_loop_and_logs_each_steps_lr(tmp_path: Path) -> None:
    model = Regression(seed=0)
    t = trainer(model, tmp_path, STEPS)
    t.train()

    assert t.state.global_step == STEPS
    lrs = logged_lrs(t)
    assert sorted(lrs) == list(range(1, STEPS + 1))
    for step, lr in lrs.items():
        assert isinstance(lr, float), type(lr)
        assert lr == pytest.approx(reference_lr(step - 1), rel=1e-6, abs=1e-9), step
    assert int(t.lr_scheduler.last_epoch) == STEPS
    # one optimizer step then one scheduler step per batch, as in the plain loop
    expected = manual_training(seed=0, batches=batches(STEPS))
    assert [lrs[s] for s in range(1, STEPS + 1)] == pytest.approx(expected["lrs"], rel=1e-6)
    assert_same_weights(model.layer.state_dict(), expected["state"])


def test_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """``train(resume_from_checkpoint=...)`` with a fresh model, optimizer and schedule
    ends with the weights of the run that went straight on, bit for bit."""
    straight_model = Regression(seed=0)
    straight = trainer(straight_model, tmp_path / "straight", STEPS)
    straight.train()
    checkpoint = tmp_path / "straight" / f"checkpoint-{STEPS // 2}"
    saved = torch.load(checkpoint / "scheduler.pt", weights_only=True)
    assert int(saved["last_epoch"]) == STEPS // 2

    resumed_model = Regression(seed=99)  # other weights: the checkpoint must restore them
    resumed = trainer(resumed_model, tmp_path / "resumed", STEPS)
    resumed.train(resume_from_checkpoint=str(checkpoint))

    assert resumed.state.global_step == STEPS
    assert int(resumed.lr_scheduler.last_epoch) == STEPS
    # the log history of steps 1..STEPS // 2 comes back from the checkpoint's
    # trainer_state.json; the later steps were logged by the resumed run
    straight_lrs, resumed_lrs = logged_lrs(straight), logged_lrs(resumed)
    assert sorted(resumed_lrs) == list(range(1, STEPS + 1))
    for step, lr in resumed_lrs.items():
        assert lr == straight_lrs[step], step
    assert_same_weights(resumed_model.layer.state_dict(), straight_model.layer.state_dict())
