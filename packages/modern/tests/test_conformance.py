"""The waferopt conformance kit over Muon, AdamWScheduleFree, Prodigy and AdEMAMix, then
what the kit does not cover: Muon's groups, schedule-free's modes, Prodigy's shared
estimate, the functional API, the plugin and the Model Zoo config."""

from __future__ import annotations

import copy
import io
import pickle
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from waferopt.core.testing import ErrorInput, OptimizerInfo, conformance_tests
from waferopt.modern import (
    AdamWScheduleFree,
    AdEMAMix,
    Muon,
    Prodigy,
    functional,
    muon_param_groups,
)
from waferopt.modern._plugin import register_optimizers


class TrainingAdamWScheduleFree(AdamWScheduleFree):
    """Schedule-free AdamW put in train mode when built (the kit steps right away)."""

    def __init__(self, params: Any, *, enable_global_step: bool = False, **kwargs: Any) -> None:
        super().__init__(params, enable_global_step=enable_global_step, **kwargs)
        self.train()


class MuonWithAdamW(Muon):
    """Muon whose groups are split into a Muon part (the matrices) and an AdamW part."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        params = list(param_group["params"])
        for use_muon in (True, False):
            part = [p for p in params if (p.ndim == 2) == use_muon]
            if part:
                super().add_param_group({**param_group, "params": part, "use_muon": use_muon})


MATRICES = ((5, 4), (4, 6), (3, 3))

TestConformance = conformance_tests(
    optimizers=[
        OptimizerInfo(
            Muon,
            configs=[
                {"lr": 1e-2},
                {
                    "lr": 1e-2,
                    "weight_decay": 0.2,
                    "nesterov": False,
                    "adjust_lr_fn": "match_rms_adamw",
                },
            ],
            shapes=MATRICES,
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
                ErrorInput({"momentum": -0.5}, match="momentum"),
                ErrorInput({"ns_steps": 100}, match="ns_steps"),
                ErrorInput({"ns_coefficients": (1.0, 2.0)}, match="ns_coefficients"),
                ErrorInput({"adjust_lr_fn": "rms"}, match="adjust_lr_fn"),
            ],
            # the Newton-Schulz iteration runs in bfloat16: a float update that rounds
            # differently in the tensor-lr path moves the next step's bf16 inputs
            rtol=1e-4,
            atol=1e-5,
        ),
        OptimizerInfo(
            MuonWithAdamW,
            configs=[{"lr": 1e-2, "weight_decay": 0.1}],
            shapes=((5, 4), (4,), (3, 6), (2, 3, 4)),
            rtol=1e-4,
            atol=1e-5,
            known_failures={
                "param_groups": "this test class splits every group it is given in two, so "
                "the kit's group indices do not line up (Muon's groups are checked above, "
                "and Muon+AdamW groups against torch in test_references)",
            },
        ),
        OptimizerInfo(
            AdEMAMix,
            configs=[
                {"lr": 1e-2},
                {"lr": 1e-2, "weight_decay": 0.1, "t_alpha_beta3": 3.0},
                {"lr": 1e-2, "weight_decay": 0.1, "weight_decouple": True, "maximize": True},
            ],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"betas": (0.9, 0.999)}, match="betas"),
                ErrorInput({"betas": (0.9, 0.999, 1.0)}, match="betas"),
                ErrorInput({"alpha": -1.0}, match="alpha"),
                ErrorInput({"t_alpha_beta3": 0}, match="t_alpha_beta3"),
                ErrorInput({"weight_decay": -0.1}, match="weight_decay"),
            ],
            compile_configs=(0, 1),
        ),
        OptimizerInfo(
            TrainingAdamWScheduleFree,
            name="AdamWScheduleFree",
            configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1, "warmup_steps": 2, "r": 0.5}],
            error_inputs=[
                ErrorInput({"lr": -1.0}, match="lr"),
                ErrorInput({"betas": (0.0, 0.999)}, match="betas"),
                ErrorInput({"warmup_steps": 1.5}, match="warmup_steps"),
                ErrorInput({"weight_lr_power": -1.0}, match="weight_lr_power"),
            ],
            compile_configs=(1,),
        ),
        OptimizerInfo(
            Prodigy,
            configs=[
                {},
                {"weight_decay": 0.1, "use_bias_correction": True, "growth_rate": 1.5},
                {"weight_decay": 0.1, "decouple": False, "betas": (0.0, 0.99), "slice_p": 2},
            ],
            error_inputs=[
                ErrorInput({"lr": 0.0}, match="lr"),
                ErrorInput({"d0": 0.0}, match="d0"),
                ErrorInput({"betas": (1.0, 0.9)}, match="betas"),
                ErrorInput({"beta3": 1.5}, match="beta3"),
                ErrorInput({"growth_rate": 0.5}, match="growth_rate"),
                ErrorInput({"slice_p": 0}, match="slice_p"),
            ],
            compile_configs=(0, 2),
            known_failures={
                "param_groups": "the distance estimate is shared by every group (as in "
                "prodigyopt), so two groups are not two optimizers, and group lrs must "
                "be equal or 0",
            },
        ),
    ]
)


# ---------------------------------------------------------------------- the family's own contract (what the kit does not cover)
ROOT = Path(__file__).resolve().parents[3]


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.hidden = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.conv = nn.Conv1d(8, 8, 1)
        self.lm_head = nn.Linear(8, 10, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.norm(torch.relu(self.hidden(self.embed(tokens))))
        x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return self.lm_head(x)


def loss_of(model: nn.Module, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, 10, (4, 5), generator=gen)
    return nn.functional.cross_entropy(model(tokens).flatten(0, 1), tokens.flatten())


# ---------------------------------------------------------------------------- Muon
def test_muon_rejects_a_non_matrix_naming_group_parameter_and_shape():
    with pytest.raises(
        ValueError, match=r"parameter 1 of param group 0 has shape \(4,\).*use_muon"
    ):
        Muon([torch.nn.Parameter(torch.randn(4, 4)), torch.nn.Parameter(torch.randn(4))])
    opt = Muon([torch.nn.Parameter(torch.randn(4, 4))])
    with pytest.raises(ValueError, match=r"param group 1 has shape \(2, 2, 2\)"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.randn(2, 2, 2))]})
    assert len(opt.param_groups) == 1


def test_muon_param_groups_sends_matrices_to_muon_and_the_rest_to_adamw():
    model = Net()
    groups = muon_param_groups(model, adamw={"lr": 1e-3})
    names = {id(p): n for n, p in model.named_parameters()}
    muon = {names[id(p)] for p in groups[0]["params"]}
    adamw = {names[id(p)] for p in groups[1]["params"]}
    assert muon == {"hidden.weight"}
    assert adamw == {
        "embed.weight", "hidden.bias", "norm.weight", "norm.bias", "conv.weight", "conv.bias",
        "lm_head.weight",
    }  # fmt: skip
    assert groups[0]["use_muon"] and not groups[1]["use_muon"] and groups[1]["lr"] == 1e-3
    opt = Muon(groups, lr=0.02, adjust_lr_fn="match_rms_adamw")
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["eps"] == 1e-8
    assert set(opt.state[model.hidden.weight]) == {"momentum_buffer"}
    assert set(opt.state[model.embed.weight]) == {"exp_avg", "exp_avg_sq"}
    first = loss_of(model, 0).item()
    for step in range(30):
        opt.zero_grad()
        loss_of(model, step % 3).backward()
        opt.step()
    assert loss_of(model, 0).item() < first


def test_a_group_tagged_adamw_is_an_adamw_group():
    w, b = torch.nn.Parameter(torch.randn(3, 3)), torch.nn.Parameter(torch.randn(3))
    opt = Muon([{"params": [w]}, {"params": [b], "tags": {"adamw", "no_decay"}}])
    assert [g["use_muon"] for g in opt.param_groups] == [True, False]
    with pytest.raises(ValueError, match="use_muon"):
        Muon([{"params": [w], "use_muon": "yes"}])


# ---------------------------------------------------------------------------- schedule-free
def sf_model_and_opt(**kwargs):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    return model, AdamWScheduleFree(model.parameters(), lr=0.01, **kwargs)


def train_steps(model, opt, seeds):
    for seed in seeds:
        opt.zero_grad()
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(16, 4, generator=gen)
        model(x).square().mean().backward()
        opt.step()


def test_schedule_free_step_in_eval_mode_raises():
    model, opt = sf_model_and_opt()
    model(torch.randn(2, 4)).sum().backward()
    with pytest.raises(RuntimeError, match=r"train\(\)"):
        opt.step()


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_schedule_free_mode_survives_state_dict_and_resumes_bitwise(mode):
    model, opt = sf_model_and_opt(warmup_steps=3, weight_decay=0.01)
    opt.train()
    train_steps(model, opt, range(5))
    getattr(opt, mode)()
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    opt.train()
    train_steps(model, opt, range(5, 9))
    opt.eval()
    expected = [p.detach().clone() for p in model.parameters()]

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    model2, opt2 = sf_model_and_opt(warmup_steps=3, weight_decay=0.01)
    model2.load_state_dict(saved["model"])
    assert all(g["train_mode"] == (mode == "train") for g in saved["opt"]["param_groups"])
    opt2.load_state_dict(saved["opt"])
    assert opt2.train_mode == (mode == "train")
    opt2.train()
    train_steps(model2, opt2, range(5, 9))
    opt2.eval()
    for a, b in zip(expected, model2.parameters()):
        assert torch.equal(a, b.detach())


def test_schedule_free_z_is_taken_at_the_first_train_so_loaded_weights_count():
    model, opt = sf_model_and_opt()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.5)  # e.g. pre-trained weights loaded after the optimizer was built
    opt.train()
    for p in model.parameters():
        assert torch.equal(opt.state[p]["z"], p.detach())


def test_schedule_free_added_group_takes_the_current_mode():
    _model, opt = sf_model_and_opt()
    opt.train()
    extra = torch.nn.Parameter(torch.randn(3))
    opt.add_param_group({"params": [extra]})
    assert opt.train_mode is True
    extra.grad = torch.randn(3)
    before = extra.detach().clone()
    opt.step()
    assert not torch.equal(extra.detach(), before)
    with pytest.raises(ValueError, match="'train_mode' is not a param group key"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.randn(2))], "train_mode": True})
    assert len(opt.param_groups) == 2


def test_schedule_free_mode_is_not_a_group_key_so_copied_groups_leave_it_alone():
    """A wrapper that copies stale group keys over the optimizer's before each step
    (torch's ZeroRedundancyOptimizer does) neither resets the mode nor stops the step."""
    model, opt = sf_model_and_opt()
    stale = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    opt.train()
    for group, copied in zip(opt.param_groups, stale):
        group.update(copied)  # what ZeRO's _sync_param_groups does
    assert opt.train_mode is True
    assert all("train_mode" not in g for g in opt.param_groups)
    train_steps(model, opt, range(2))


def test_schedule_free_loads_mode_from_group_keys_and_rejects_disagreeing_groups():
    """Checkpoints keep the mode in every group (as earlier ones and schedulefree's do);
    groups that disagree, or a mode that is not a bool, raise and change nothing."""

    def two_groups():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        groups = [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
        return model, AdamWScheduleFree(groups, lr=0.01)

    model, opt = two_groups()
    opt.train()
    train_steps(model, opt, range(3))
    saved = opt.state_dict()
    assert opt.train_mode is True and all(g["train_mode"] is True for g in saved["param_groups"])
    assert all("train_mode" not in g for g in opt.param_groups)  # the saved groups are copies

    _model2, opt2 = two_groups()
    before = copy.deepcopy(opt2.state_dict())
    for bad, match in (((True, False), "different modes"), (("yes", "yes"), "True or False")):
        broken = copy.deepcopy(saved)
        for group, value in zip(broken["param_groups"], bad):
            group["train_mode"] = value
        with pytest.raises(ValueError, match=match):
            opt2.load_state_dict(broken)
        assert opt2.train_mode is False
        for key, value in before["state"][0].items():
            assert torch.equal(opt2.state_dict()["state"][0][key], value), key

    without = copy.deepcopy(saved)
    for group in without["param_groups"]:
        del group["train_mode"]
    opt2.load_state_dict(without)  # a state dict without the mode leaves it as it is
    assert opt2.train_mode is False
    opt2.load_state_dict(saved)
    assert opt2.train_mode is True and all("train_mode" not in g for g in opt2.param_groups)


def test_schedule_free_pickle_keeps_the_mode():
    _model, opt = sf_model_and_opt()
    opt.train()
    again = pickle.loads(pickle.dumps(opt))
    assert again.train_mode is True
    # pickled by an earlier version, which kept the mode in the groups
    state = opt.__getstate__()
    del state["_train_mode"]
    state["param_groups"] = [{**g, "train_mode": True} for g in state["param_groups"]]
    old = AdamWScheduleFree.__new__(AdamWScheduleFree)
    old.__setstate__(state)
    assert old.train_mode is True and all("train_mode" not in g for g in old.param_groups)


def test_schedule_free_warns_when_a_decaying_lr_scheduler_is_attached():
    schedulers = pytest.importorskip("waferopt.schedulers")
    _model, opt = sf_model_and_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schedulers.LinearLR(opt, initial_learning_rate=0.0, end_learning_rate=0.01, total_iters=10)
        schedulers.ConstantWD(opt, val=0.1)  # not the learning rate
        opt.train()  # a warmup: no warning
    opt.eval()
    with pytest.warns(UserWarning, match="CosineDecayLR lowers the learning rate .* at step 1"):
        schedulers.CosineDecayLR(
            opt, initial_learning_rate=0.01, end_learning_rate=0.0, total_iters=100
        )
    assert opt.param_groups[0]["lr"].item() == pytest.approx(0.01)  # the probe left it alone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.train()  # warned once per scheduler


def test_schedule_free_follows_a_waferopt_warmup_scheduler_like_schedulefree_with_floats():
    """A waferopt LinearLR warmup (0-d tensor lr, written in place) gives the trajectory of
    schedulefree whose float lr is set to the same values by hand."""
    schedulers = pytest.importorskip("waferopt.schedulers")
    sf = pytest.importorskip("schedulefree")
    torch.manual_seed(0)
    start = [torch.randn(5, 3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)]
    ours = [torch.nn.Parameter(p.clone()) for p in start]
    ref = [torch.nn.Parameter(p.clone()) for p in start]
    a = AdamWScheduleFree(ours, lr=0.02)
    b = sf.AdamWScheduleFree(ref, lr=0.02)
    sched = schedulers.LinearLR(a, initial_learning_rate=0.0, end_learning_rate=0.02, total_iters=8)
    a.train()
    b.train()
    for _step in range(12):
        b.param_groups[0]["lr"] = float(a.param_groups[0]["lr"])
        for p, q in zip(ours, ref):
            g = torch.randn(p.shape, dtype=torch.float64)
            p.grad, q.grad = g.clone(), g.clone()
        a.step()
        b.step()
        sched.step()
    assert isinstance(a.param_groups[0]["lr"], torch.Tensor)
    for p, q in zip(ours, ref):
        # the scheduler's lr is a float32 tensor: the float run reads the same value
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- Prodigy
def test_prodigy_estimate_is_one_set_of_device_tensors_shared_by_groups():
    a, b = torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))
    opt = Prodigy([{"params": [a]}, {"params": [b]}])
    for key in ("d", "d_max", "d_numerator", "d_denom", "d_hat", "k"):
        value = opt.param_groups[0][key]
        assert isinstance(value, torch.Tensor) and value.dim() == 0, key
        assert opt.param_groups[1][key] is value, key
    sd = copy.deepcopy(opt.state_dict())
    a.grad, b.grad = torch.randn(3, 2), torch.randn(2)
    opt.step()
    opt.load_state_dict(sd)
    assert opt.param_groups[1]["d"] is opt.param_groups[0]["d"]
    assert opt.param_groups[0]["k"].item() == 0


def test_prodigy_with_coupled_decay_steps_a_group_without_gradients():
    """A group whose params have no gradient this step (coupled L2) takes no step and
    leaves the estimate to the other groups (it once failed on the empty lists)."""
    a, b = torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))
    opt = Prodigy([{"params": [a]}, {"params": [b]}], weight_decay=0.1, decouple=False)
    b0 = b.detach().clone()
    a.grad = torch.randn(3, 2)
    opt.step()
    assert torch.equal(b.detach(), b0)
    assert opt.param_groups[0]["k"].item() == 1


# ---------------------------------------------------------------------------- functional
@pytest.mark.parametrize("slice_p", [1, 3])
def test_prodigy_state_layout_and_checkpoints_of_the_flat_layout(slice_p):
    """With slice_p 1, s and p0 are shaped like their params (the layout FSDP2 shards,
    so a distributed checkpoint loads on any number of ranks), flat slices otherwise;
    a checkpoint of the earlier flat layout loads, reshaped, and resumes bitwise."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    opt = Prodigy(model.parameters(), weight_decay=0.01, slice_p=slice_p)
    for p in model.parameters():
        want = p.shape if slice_p == 1 else (len(range(0, p.numel(), slice_p)),)
        assert opt.state[p]["s"].shape == want and opt.state[p]["p0"].shape == want
    train_steps(model, opt, range(3))
    saved = copy.deepcopy(opt.state_dict())
    model_saved = copy.deepcopy(model.state_dict())
    train_steps(model, opt, range(3, 6))
    expected = [p.detach().clone() for p in model.parameters()]

    flat = copy.deepcopy(saved)
    for st in flat["state"].values():
        st["s"], st["p0"] = st["s"].flatten(), st["p0"].flatten()
    torch.manual_seed(0)
    model2 = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    model2.load_state_dict(model_saved)
    opt2 = Prodigy(model2.parameters(), weight_decay=0.01, slice_p=slice_p)
    opt2.load_state_dict(flat)
    for p, q in zip(model.parameters(), model2.parameters()):
        assert opt2.state[q]["s"].shape == opt.state[p]["s"].shape
    train_steps(model2, opt2, range(3, 6))
    for a, b in zip(expected, model2.parameters()):
        assert torch.equal(a, b.detach())

    wrong = copy.deepcopy(saved)
    first = next(iter(wrong["state"].values()))
    first["s"] = torch.zeros(first["s"].numel() + 1)
    with pytest.raises(ValueError, match="'s'"):
        opt2.load_state_dict(wrong)


def test_functional_ademamix_is_the_class_step():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(4, 3))
    q = p.detach().clone()
    opt = AdEMAMix([p], lr=1e-2, t_alpha_beta3=5.0, weight_decay=0.1)
    m, v, slow = (torch.zeros_like(q) for _ in range(3))
    step = torch.tensor(0.0, dtype=torch.float64)
    for _ in range(4):
        g = torch.randn(4, 3)
        p.grad = g.clone()
        opt.step()
        functional.ademamix(
            [q], [g], [m], [v], [slow], step, lr=1e-2, beta1=0.9, beta2=0.999, beta3=0.9999,
            alpha=5.0, t_alpha_beta3=5.0, eps=1e-8, weight_decay=0.1, weight_decouple=False,
        )  # fmt: skip
    assert torch.equal(p.detach(), q) and step.item() == 4


def test_newton_schulz_orthogonalizes():
    g = torch.randn(16, 8, dtype=torch.float64)
    o = functional.zeropower_via_newtonschulz(g, ns_steps=10).double()
    singular = torch.linalg.svdvals(o)
    assert o.dtype == torch.float64 and singular.min() > 0.5 and singular.max() < 1.5
    with pytest.raises(ValueError, match="2-D"):
        functional.zeropower_via_newtonschulz(torch.randn(3))
    assert functional.muon_lr_ratio("match_rms_adamw", (16, 64)) == pytest.approx(1.6)
    assert functional.muon_lr_ratio(None, (64, 16)) == pytest.approx(2.0)


# ---------------------------------------------------------------------------- plugin, Model Zoo
def _tiny_gpt() -> type[nn.Module]:
    """The demo's TinyGPT (examples/tiny_models.py: an example, in no wheel)."""
    import importlib.util

    path = ROOT / "examples" / "tiny_models.py"
    if not path.is_file():
        pytest.skip("examples/ is not beside this checkout")
    spec = importlib.util.spec_from_file_location("_modern_tiny_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TinyGPT


def test_plugin_registers_the_four_names_of_the_catalogue():
    names = [r.name for r in register_optimizers()]
    assert names == ["Muon", "AdamWScheduleFree", "Prodigy", "AdEMAMix"]
    catalogue = pytest.importorskip("waferopt.registry._catalogue")
    assert set(catalogue.NAMES_BY_DISTRIBUTION["waferopt-modern"]) == set(names)
    optim = pytest.importorskip("waferopt.optim")
    assert optim.Muon is Muon and optim.AdEMAMix is AdEMAMix
    assert optim.AdamWScheduleFree is AdamWScheduleFree and optim.Prodigy is Prodigy


def test_model_zoo_config_builds_muon_with_adamw_and_trains():
    """examples/configs/gpt_muon_adamw.yaml: optim.build gives Muon with AdamW groups for
    the tagged parameters and the LR schedule; a few demo-style steps lower the loss."""
    optim = pytest.importorskip("waferopt.optim")
    pytest.importorskip("yaml")
    pytest.importorskip("waferopt.schedulers")
    pytest.importorskip("waferopt.modelzoo")
    TinyGPT = _tiny_gpt()

    torch.manual_seed(0)
    model = TinyGPT()
    built = optim.build(model, ROOT / "examples" / "configs" / "gpt_muon_adamw.yaml")
    opt = built.optimizer
    assert type(opt) is Muon and opt.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    for group in opt.param_groups:
        assert group["use_muon"] == ("adamw" not in (group.get("tags") or ()))
        if group["use_muon"]:
            assert all(p.ndim == 2 for p in group["params"])
    names = {id(p): n for n, p in model.named_parameters()}
    muon_names = {names[id(p)] for g in opt.param_groups if g["use_muon"] for p in g["params"]}
    assert "lm_head.weight" not in muon_names and muon_names
    gen = torch.Generator().manual_seed(0)
    successor = torch.randperm(32, generator=gen)
    losses = []
    for _ in range(40):
        tokens = torch.randint(0, 32, (16,), generator=gen)
        seq = [tokens]
        for _ in range(16):
            seq.append(successor[seq[-1]])
        batch = torch.stack(seq, 1)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(
            model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten()
        )
        loss.backward()
        opt.step()
        for sched in built.schedulers:
            sched.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
