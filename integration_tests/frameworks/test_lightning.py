"""PyTorch Lightning trains through waferopt's optimizer and schedule, resumes from its
own checkpoint, and logs the lr of every step.

A waferopt ``LRScheduler`` is a ``torch.optim.lr_scheduler.LRScheduler``, so Lightning
takes it from ``configure_optimizers`` like torch's own. Lightning steps a scheduler
once per *epoch* unless the ``lr_scheduler`` dict says ``"interval": "step"``; Model
Zoo schedules count optimizer steps, so they need it (test_without_interval_step shows
what happens otherwise).
"""

from __future__ import annotations

import csv
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

lightning = pytest.importorskip("lightning")
from lightning.pytorch import LightningModule, Trainer  # noqa: E402
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402

STEPS = 16  # 4 epochs of 4 batches: warm-up and most of the decay
LR_KEY = "lr-AdamW"  # LearningRateMonitor's name for the optimizer's only param group


class Regression(LightningModule):
    def __init__(self, seed: int, interval: str | None = "step") -> None:
        super().__init__()
        self.layer = linear(seed)
        self.interval = interval

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self) -> dict[str, Any]:
        opt, sched = optimizer_and_scheduler(self.parameters())
        scheduler: dict[str, Any] = {"scheduler": sched}
        if self.interval is not None:
            scheduler["interval"] = self.interval
        return {"optimizer": opt, "lr_scheduler": scheduler}


def loader() -> torch.utils.data.DataLoader:
    x, y = data()
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=False
    )


def fit(
    model: Regression,
    out: Path,
    max_steps: int,
    ckpt_path: Path | None = None,
    checkpoint: ModelCheckpoint | None = None,
) -> tuple[Trainer, dict[int, float]]:
    """Fit on the CPU with a CSV logger and a LearningRateMonitor logging every step
    (and ``checkpoint`` if given); returns the trainer and the lr the logger received
    for each step."""
    logger = CSVLogger(out, name="logs")
    callbacks: list[Any] = [LearningRateMonitor(logging_interval="step")]
    if checkpoint is not None:
        callbacks.append(checkpoint)
    trainer = Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=max_steps,
        logger=logger,
        callbacks=callbacks,
        log_every_n_steps=1,
        enable_checkpointing=checkpoint is not None,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, loader(), ckpt_path=ckpt_path)
    return trainer, logged_lrs(Path(logger.log_dir) / "metrics.csv")


def logged_lrs(path: Path) -> dict[int, float]:
    """``{step: lr}`` from the metrics.csv the CSV logger wrote."""
    with path.open() as f:
        return {int(row["step"]): float(row[LR_KEY]) for row in csv.DictReader(f) if row[LR_KEY]}


def batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    epoch = list(loader())
    return [epoch[i % BATCHES_PER_EPOCH] for i in range(n)]


def test_trains_like_the_plain_loop_and_logs_each_steps_lr(tmp_path: Path) -> None:
    model = Regression(seed=0)
    trainer, lrs = fit(model, tmp_path, STEPS)

    assert trainer.global_step == STEPS
    assert sorted(lrs) == list(range(STEPS))
    for step, lr in lrs.items():
        assert lr == pytest.approx(reference_lr(step), rel=1e-6, abs=1e-9), step
    sched = trainer.lr_scheduler_configs[0].scheduler
    assert int(sched.last_epoch) == STEPS
    # one optimizer step then one scheduler step per batch, as in the plain loop
    expected = manual_training(seed=0, batches=batches(STEPS))
    assert [lrs[s] for s in range(STEPS)] == pytest.approx(expected["lrs"], rel=1e-6)
    assert_same_weights(model.layer.state_dict(), expected["state"])


def test_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """A run resumed from the checkpoint ModelCheckpoint wrote half-way ends with the
    same weights, bit for bit, and logs the same lrs as the run that went straight on."""
    straight = Regression(seed=0)
    every = ModelCheckpoint(tmp_path / "ckpt", every_n_train_steps=STEPS // 2, save_top_k=-1)
    _, straight_lrs = fit(straight, tmp_path / "straight", STEPS, checkpoint=every)
    ckpt = tmp_path / "ckpt" / f"epoch=1-step={STEPS // 2}.ckpt"
    saved = torch.load(ckpt, weights_only=True)  # what Lightning wrote loads safely
    assert int(saved["lr_schedulers"][0]["last_epoch"]) == STEPS // 2

    resumed = Regression(seed=99)  # other weights: the checkpoint must restore them
    trainer, resumed_lrs = fit(resumed, tmp_path / "resumed", STEPS, ckpt_path=ckpt)

    assert trainer.global_step == STEPS
    assert sorted(resumed_lrs) == list(range(STEPS // 2, STEPS))
    for step, lr in resumed_lrs.items():
        assert lr == straight_lrs[step], step
    assert int(trainer.lr_scheduler_configs[0].scheduler.last_epoch) == STEPS
    assert_same_weights(resumed.layer.state_dict(), straight.layer.state_dict())


@pytest.mark.parametrize("interval", [None, "epoch"], ids=["no-interval", "epoch"])
def test_without_interval_step_the_schedule_advances_once_per_epoch(
    tmp_path: Path, interval: str | None
) -> None:
    """Lightning's default interval is "epoch": a schedule written in steps then moves
    once per epoch, so its warm-up lasts WARMUP epochs instead of WARMUP steps."""
    model = Regression(seed=0, interval=interval)
    trainer, lrs = fit(model, tmp_path, STEPS)

    assert trainer.lr_scheduler_configs[0].interval == "epoch"
    assert sorted(lrs) == list(range(STEPS))
    for step, lr in lrs.items():
        assert lr == pytest.approx(reference_lr(step // BATCHES_PER_EPOCH), abs=1e-9), step
    assert int(trainer.lr_scheduler_configs[0].scheduler.last_epoch) == STEPS // BATCHES_PER_EPOCH
    # the first epoch trains at lr 0: the warm-up's first value, for four steps
    assert [lrs[s] for s in range(BATCHES_PER_EPOCH)] == [0.0] * BATCHES_PER_EPOCH


def test_lr_monitor_history_holds_the_live_lr_tensor(tmp_path: Path) -> None:
    """A pitfall, pinned so that docs/test-matrix.md stays true: waferopt keeps the lr
    as a 0-d tensor that its schedulers update in place, and LearningRateMonitor keeps
    that very tensor in ``.lrs``, so every entry there shows the latest lr. What the
    loggers receive is right (they turn it into a float when it is logged; the tests
    above read it from the CSV logger)."""
    monitor = LearningRateMonitor(logging_interval="step")
    trainer = Trainer(
        accelerator="cpu",
        max_steps=6,
        logger=CSVLogger(tmp_path, name="logs"),
        callbacks=[monitor],
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    model = Regression(seed=0)
    trainer.fit(model, loader())
    history = monitor.lrs[LR_KEY]
    assert len(history) == 6
    assert all(entry is history[0] for entry in history)  # one live tensor, six times
    assert float(history[0]) == pytest.approx(reference_lr(6), rel=1e-6)
    assert [float(h) for h in history] != [reference_lr(s) for s in range(6)]
