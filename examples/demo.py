"""Train a small model from a Cerebras Model Zoo style YAML config with waferopt.

    python examples/demo.py                                    # examples/configs/gpt_adamw_warmup_cosine.yaml
    python examples/demo.py --config examples/configs/gpt_legacy_mup.yaml
    python examples/demo.py --steps 100 --no-progress

One call, ``waferopt.optim.build(model, config)``, turns the config's ``optimizer:``
(and ``schedulers:``) section into the optimizer, its param groups and its
schedulers, as Model Zoo would. The model is a tiny GPT whose parameter names follow
Model Zoo's; the data are sequences it makes itself: each token is followed by a
fixed, random "next token", so the loss can fall from log(vocab) towards 0.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

import waferopt.optim as optim
from waferopt.modelzoo import load_config
from waferopt.modelzoo.describe import describe_result

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tiny_models import TinyGPT  # noqa: E402  (beside this file)

DEFAULT_CONFIG = HERE / "configs" / "gpt_adamw_warmup_cosine.yaml"
VOCAB, LENGTH, BATCH = 32, 16, 32


def make_batch(
    successor: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences that follow ``successor`` (a fixed permutation), and their next tokens."""
    tokens = torch.empty(BATCH, LENGTH + 1, dtype=torch.long)
    tokens[:, 0] = torch.randint(0, VOCAB, (BATCH,), generator=generator)
    for i in range(LENGTH):
        tokens[:, i + 1] = successor[tokens[:, i]]
    return tokens[:, :-1], tokens[:, 1:]


def configured_steps(config: dict) -> int | None:
    """``trainer.init.loop.max_steps`` (trainer format) or ``runconfig.max_steps`` (legacy)."""
    loop = (
        config.get("trainer", {}).get("init", {}).get("loop", {})
        if isinstance(config.get("trainer"), dict)
        else {}
    )
    steps = loop.get("max_steps") or (config.get("runconfig") or {}).get("max_steps")
    return int(steps) if steps else None


class Progress:
    """tqdm when it is installed, else a one-line text bar."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.n = total, enabled, 0
        self.bar = None
        self.start = time.perf_counter()
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, file=sys.stdout)
            except ImportError:
                self.bar = None

    def update(self, **fields: str) -> None:
        self.n += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix(fields, refresh=False)
            self.bar.update(1)
            return
        width = 30
        done = int(width * self.n / self.total)
        text = " ".join(f"{k}={v}" for k, v in fields.items())
        print(
            f"\r[{'#' * done}{'.' * (width - done)}] {self.n}/{self.total} {text}",
            end="",
            flush=True,
        )

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(("\n" if self.enabled and self.n else "") + line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="a Model Zoo style YAML config"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="training steps (default: the config's max_steps, else 300)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--log-every", type=int, default=None, help="print a line every N steps")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    config = load_config(args.config)
    steps = args.steps or configured_steps(config) or 300
    log_every = args.log_every or max(1, steps // 10)

    model = TinyGPT(vocab=VOCAB, length=LENGTH)
    built = optim.build(model, config)  # the whole optimizer section in one call
    print(f"config: {args.config}")
    for line in describe_result(built):
        print(line)
    max_norm = built.trainer_settings.get("max_gradient_norm")
    lr_group = next(
        (i for i, g in enumerate(built.param_groups) if g.adjust_learning_rate in (None, 1.0)), 0
    )
    wd_group = next((i for i, g in enumerate(built.param_groups) if g.decayed and g.size), 0)
    print(
        f"training {steps} steps on generated data (vocab {VOCAB}, batch {BATCH}, length {LENGTH});"
    )
    print(f"lr shown for param group {lr_group}, weight decay for param group {wd_group}.\n")

    generator = torch.Generator().manual_seed(args.seed)
    successor = torch.randperm(VOCAB, generator=generator)
    progress = Progress(steps, enabled=not args.no_progress)
    first_loss = last_loss = math.nan
    groups = built.optimizer.param_groups
    for step in range(steps):
        inputs, targets = make_batch(successor, generator)
        loss = F.cross_entropy(model(inputs).reshape(-1, VOCAB), targets.reshape(-1))
        built.optimizer.zero_grad()
        loss.backward()
        if max_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(max_norm))
        lr = float(groups[lr_group]["lr"])  # the values used by this step
        wd = float(groups[wd_group]["weight_decay"])
        built.optimizer.step()
        built.step_schedulers()
        last_loss = loss.item()
        if step == 0:
            first_loss = last_loss
        progress.update(loss=f"{last_loss:.4f}", lr=f"{lr:.3e}", wd=f"{wd:.3g}")
        if step % log_every == 0 or step == steps - 1:
            progress.write(
                f"step {step:4d}  loss {last_loss:.4f}  lr {lr:.4e}  weight_decay {wd:.4g}"
            )
    progress.close()
    print(
        f"\nloss {first_loss:.4f} -> {last_loss:.4f} (log({VOCAB}) = {math.log(VOCAB):.4f} is chance)"
    )
    return 0 if last_loss < first_loss else 1


if __name__ == "__main__":
    sys.exit(main())
