"""Param groups as Model Zoo makes them: weight-decay split, LR factors, tags."""

from __future__ import annotations

import pytest
import torch
from tiny_models import TinyDINO, TinyGPT, TinyMLP
from torch import nn

from waferopt.modelzoo import build_param_groups, is_no_decay
from waferopt.registry import ConfigError, ConfigErrors


def names_of(groups, model):
    lookup = {id(p): n for n, p in model.named_parameters()}
    return [[lookup[id(p)] for p in g["params"]] for g in groups]


def all_names(model):
    return [n for n, p in model.named_parameters() if p.requires_grad]


# ---------------------------------------------------------------- weight decay split
NORMS = [
    nn.LayerNorm(4),
    nn.BatchNorm1d(4),
    nn.BatchNorm2d(4),
    nn.BatchNorm3d(4),
    nn.InstanceNorm1d(4, affine=True),
    nn.InstanceNorm2d(4, affine=True),
    nn.InstanceNorm3d(4, affine=True),
    nn.GroupNorm(2, 4),
    nn.SyncBatchNorm(4),
    nn.RMSNorm(4),
]


@pytest.mark.parametrize("norm", NORMS, ids=lambda m: type(m).__name__)
def test_norm_layer_params_get_no_weight_decay(norm):
    """Every parameter of a normalization layer goes to the weight_decay=0 group."""
    model = nn.Sequential(nn.Linear(4, 4, bias=False), norm)
    groups, infos = build_param_groups(model, weight_decay=0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert names_of(groups, model)[0] == ["0.weight"]
    assert sorted(names_of(groups, model)[1]) == sorted(
        f"1.{n}" for n, _ in norm.named_parameters()
    )
    assert infos[1].numel == sum(p.numel() for p in norm.parameters())


def test_custom_rmsnorm_class_by_name():
    """A model's own RMSNorm (any class named ``*RMSNorm``) counts as a norm layer."""

    class LlamaRMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(4))

    model = nn.Sequential(nn.Linear(4, 4, bias=False), LlamaRMSNorm())
    groups, _ = build_param_groups(model, weight_decay=0.1)
    assert names_of(groups, model) == [["0.weight"], ["1.weight"]]


def test_bias_by_name_and_norm_types_override():
    """Model Zoo's bias test is ``"bias" in name``; ``norm_types`` replaces the norm classes."""
    model = nn.ModuleDict({"fc": nn.Linear(3, 3), "ln": nn.LayerNorm(3)})
    model.register_parameter("attn_bias_scale", nn.Parameter(torch.ones(1)))
    groups, _ = build_param_groups(model, weight_decay=0.5)
    assert sorted(names_of(groups, model)[0]) == ["fc.weight"]
    assert sorted(names_of(groups, model)[1]) == [
        "attn_bias_scale",
        "fc.bias",
        "ln.bias",
        "ln.weight",
    ]
    groups, _ = build_param_groups(model, weight_decay=0.5, norm_types=())
    assert sorted(names_of(groups, model)[0]) == ["fc.weight", "ln.weight"]
    assert is_no_decay(model, "ln.weight") and not is_no_decay(model, "fc.weight")


def test_frozen_params_are_left_out():
    """Only parameters with requires_grad are grouped."""
    model = TinyMLP()
    model.fc1.weight.requires_grad_(False)
    groups, _ = build_param_groups(model, weight_decay=0.1)
    assert "fc1.weight" not in [n for g in names_of(groups, model) for n in g]


def test_untagged_split_keeps_empty_group_like_model_zoo():
    """Without tags, the zero-decay group exists even when empty (Model Zoo keeps it)."""
    model = nn.Linear(3, 3, bias=False)
    groups, infos = build_param_groups(model, weight_decay=0.1)
    assert [len(g["params"]) for g in groups] == [1, 0]
    assert [i.size for i in infos] == [1, 0]
    assert all("adjust_learning_rate" not in g and "tags" not in g for g in groups)


# ---------------------------------------------------------------- adjust_learning_rate
def test_default_layer_types_on_gpt():
    """``embedding`` → ``*embedding*weight``; ``decoder_kernel`` → ``*decoder*dense*weight``
    and ``*decoder*linear*weight``; groups per decay group in Model Zoo's order."""
    model = TinyGPT()
    names = all_names(model)
    groups, infos = build_param_groups(
        model, weight_decay=0.01, adjust_learning_rate={"decoder_kernel": 0.25, "embedding": 2.0}
    )
    embedding = [n for n in names if "embedding" in n and n.endswith("weight")]
    decoder = [
        n
        for n in names
        if "decoder" in n and n.endswith("weight") and ("dense" in n or "linear" in n)
    ]
    decayed = [n for n in names if "bias" not in n and ".norm" not in n]
    expected = [
        (0.01, 2.0, embedding),
        (0.01, 0.25, decoder),
        (0.01, 1.0, [n for n in decayed if n not in embedding + decoder]),
        (0.0, 1.0, [n for n in names if n not in decayed]),
    ]
    got = [
        (g["weight_decay"], g["adjust_learning_rate"], n)
        for g, n in zip(groups, names_of(groups, model))
    ]
    assert got == expected
    assert expected[2][2] == ["lm_head.weight"]
    assert [i.adjust_learning_rate for i in infos] == [2.0, 0.25, 1.0, 1.0]


def test_factor_one_makes_no_group_and_equal_factors_share_one():
    """Factors of 1 split nothing (with none left, groups get no factor key, as in Model
    Zoo); layer types with equal factors share one group."""
    model = TinyGPT()
    groups, _ = build_param_groups(
        model, adjust_learning_rate={"embedding": 1.0, "decoder_kernel": 1}
    )
    assert len(groups) == 2
    assert all("adjust_learning_rate" not in g for g in groups)
    groups, _ = build_param_groups(
        model, adjust_learning_rate={"embedding": 0.5, "decoder_kernel": 0.5}
    )
    assert [g["adjust_learning_rate"] for g in groups] == [0.5, 1.0, 1.0]
    first = names_of(groups, model)[0]
    assert any("embedding" in n for n in first) and any("dense" in n for n in first)


def test_glob_key_and_model_layer_types():
    """Any other key is a glob; a model's ``lr_adjustment_groups`` replaces the defaults."""
    model = TinyMLP()
    groups, _ = build_param_groups(model, adjust_learning_rate={"fc2.*": 4.0})
    assert names_of(groups, model)[0] == ["fc2.weight"]
    assert groups[0]["adjust_learning_rate"] == 4.0
    model.lr_adjustment_groups = {"output": "fc2.weight"}
    groups, _ = build_param_groups(model, adjust_learning_rate={"output": 3.0})
    assert names_of(groups, model)[0] == ["fc2.weight"]
    groups, _ = build_param_groups(
        model, adjust_learning_rate={"first": 3.0}, lr_adjustment_groups={"first": ["fc1.*"]}
    )
    assert names_of(groups, model)[0] == ["fc1.weight"]


def test_adjust_factor_from_yaml_string():
    with pytest.warns(UserWarning, match="converted"):
        groups, _ = build_param_groups(TinyMLP(), adjust_learning_rate={"fc1.weight": "5e-1"})
    assert groups[0]["adjust_learning_rate"] == 0.5


def test_adjust_errors_are_all_reported():
    """Unknown key, bad value, negative value and a parameter with two factors: four errors."""
    model = TinyGPT()
    with pytest.raises(ConfigErrors) as info:
        build_param_groups(
            model,
            adjust_learning_rate={
                "*no_such*": 2.0,
                "embedding": "fast",
                "decoder_kernel": -1.0,
                "*word_embeddings*": 3.0,
                "*embeddings.weight": 4.0,
            },
        )
    paths = [e.path for e in info.value.errors]
    assert paths == [
        "optimizer.adjust_learning_rate.embedding",
        "optimizer.adjust_learning_rate.decoder_kernel",
        "optimizer.adjust_learning_rate.*no_such*",
        "optimizer.adjust_learning_rate.*embeddings.weight",
    ]
    assert "word_embeddings" in info.value.errors[-1].message


# ---------------------------------------------------------------- tags
DINO_TAGS = [
    {"params": ["*backbone*"], "tag": "backbone"},
    {"params": ["head.*"], "tag": "head"},
    {"params": "*last_layer*", "tag": "last_layer"},
]


def test_tagged_groups_collect_every_matching_tag():
    """head.last_layer matches both 'head' and 'last_layer': one group with both tags."""
    model = TinyDINO()
    groups, infos = build_param_groups(model, weight_decay=0.04, tag_filters=DINO_TAGS)
    names = all_names(model)
    backbone = [n for n in names if n.startswith("backbone")]
    head = [n for n in names if n.startswith("head.mlp")]
    last = [n for n in names if "last_layer" in n]

    def split(ns):
        return [n for n in ns if not is_no_decay(model, n)], [
            n for n in ns if is_no_decay(model, n)
        ]

    expected = []
    for tags, members in (
        ({"backbone"}, backbone),
        ({"head"}, head),
        ({"head", "last_layer"}, last),
    ):
        decay, no_decay = split(members)
        expected += [(tags, 0.04, decay), (tags, 0.0, no_decay)]
    expected = [e for e in expected if e[2]]  # with tags, empty groups are dropped
    got = [(g["tags"], g["weight_decay"], n) for g, n in zip(groups, names_of(groups, model))]
    assert got == expected
    assert infos[-1].tags == frozenset({"head", "last_layer"})


def test_untagged_params_form_their_own_group_and_tags_combine_with_factors():
    model = TinyDINO()
    groups, _ = build_param_groups(
        model,
        tag_filters={"params": "head.*", "tag": "head"},
        adjust_learning_rate={"*last_layer*": 0.1},
    )
    summary = [(frozenset(g.get("tags", ())), g["adjust_learning_rate"]) for g in groups]
    assert summary == [
        (frozenset(), 1.0),
        (frozenset(), 1.0),
        (frozenset({"head"}), 0.1),
        (frozenset({"head"}), 1.0),
        (frozenset({"head"}), 1.0),
    ]


def test_tag_glob_matches_name_suffix_like_model_zoo():
    """Model Zoo searches with fnmatch.translate: 'mlp.*' matches 'head.mlp.0.weight'."""
    model = TinyDINO()
    groups, _ = build_param_groups(model, tag_filters=[{"params": "mlp.*", "tag": "m"}])
    tagged = [n for g, n in zip(groups, names_of(groups, model)) if g.get("tags")]
    assert sorted(x for ns in tagged for x in ns) == sorted(
        n for n in all_names(model) if ".mlp." in n
    )


def test_tag_errors_name_each_glob_and_all_are_collected():
    model = TinyDINO()
    with pytest.raises(ConfigErrors) as info:
        build_param_groups(
            model,
            tag_filters=[
                {"params": ["*backbone*", "*nothing_here*"], "tag": "backbone"},
                {"params": "*also_missing*", "tag": "x"},
                {"tag": "no_params"},
                {"params": "head.*", "tag": 3},
                "not-a-mapping",
            ],
            path="optimizer.AdamW",
        )
    errors = info.value.errors
    assert [e.path for e in errors] == [
        "optimizer.AdamW.params[0].params[1]",
        "optimizer.AdamW.params[1].params",
        "optimizer.AdamW.params[2]",
        "optimizer.AdamW.params[3].tag",
        "optimizer.AdamW.params[4]",
    ]
    assert "'*nothing_here*'" in errors[0].message and "'*also_missing*'" in errors[1].message


def test_single_error_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        build_param_groups(TinyMLP(), tag_filters=[{"params": "zzz", "tag": "a"}])
    assert not isinstance(info.value, ConfigErrors)
    assert info.value.path == "optimizer.params[0].params"
