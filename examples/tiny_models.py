"""Small models whose parameter names follow Model Zoo's, for the demo, the tests and
``waferopt check`` / ``waferopt plot`` (they are examples: no wheel ships them)::

    waferopt check examples/configs/gpt_legacy_mup.yaml --model examples/tiny_models.py:TinyGPT
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TinyDINO", "TinyGPT", "TinyMLP"]


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.proj_q_dense_layer = nn.Linear(width, width)
        self.proj_k_dense_layer = nn.Linear(width, width)
        self.proj_v_dense_layer = nn.Linear(width, width)
        self.proj_output_dense_layer = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, c // self.heads).transpose(1, 2)

        q = split(self.proj_q_dense_layer(x))
        k = split(self.proj_k_dense_layer(x))
        v = split(self.proj_v_dense_layer(x))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj_output_dense_layer(y.transpose(1, 2).reshape(b, t, c))


class _FeedForward(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.linear_layer_1 = nn.Linear(width, 4 * width)
        self.linear_layer_2 = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer_2(F.gelu(self.linear_layer_1(x)))


class _DecoderLayer(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.self_attn = _Attention(width, heads)
        self.norm3 = nn.LayerNorm(width)
        self.ffn = _FeedForward(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.norm1(x))
        return x + self.ffn(self.norm3(x))


class _Embedding(nn.Module):
    def __init__(self, vocab: int, width: int, length: int) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, width)
        self.position_embeddings = nn.Embedding(length, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        return self.word_embeddings(tokens) + self.position_embeddings(positions)


class _Decoder(nn.Module):
    def __init__(self, width: int, heads: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_DecoderLayer(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class TinyGPT(nn.Module):
    """A small causal language model named like Model Zoo's GPT-2.

    Parameters: ``embedding_layer.word_embeddings.weight``,
    ``transformer_decoder.layers.0.self_attn.proj_q_dense_layer.weight``,
    ``transformer_decoder.layers.0.ffn.linear_layer_1.weight``,
    ``transformer_decoder.layers.0.norm1.weight``, ``transformer_decoder.norm.bias``,
    ``lm_head.weight`` ... so Model Zoo's ``embedding`` and ``decoder_kernel`` layer
    types match as they do on the real model.
    """

    def __init__(
        self, vocab: int = 32, width: int = 32, heads: int = 2, layers: int = 2, length: int = 16
    ) -> None:
        super().__init__()
        self.embedding_layer = _Embedding(vocab, width, length)
        self.transformer_decoder = _Decoder(width, heads, layers)
        self.lm_head = nn.Linear(width, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.transformer_decoder(self.embedding_layer(tokens)))


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _Backbone(nn.Module):
    def __init__(self, in_features: int, width: int, depth: int) -> None:
        super().__init__()
        self.patch_embed = nn.Linear(in_features, width)
        self.cls_token = nn.Parameter(torch.zeros(1, width))
        self.blocks = nn.ModuleList(_Block(width) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.cls_token
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class _Head(nn.Module):
    def __init__(self, width: int, out: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))
        self.last_layer = nn.Linear(width, out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(F.normalize(self.mlp(x), dim=-1))


class TinyDINO(nn.Module):
    """A small DINO-style student: ``backbone.*`` (ViT-like blocks) and ``head.*``
    (projection MLP and ``head.last_layer``), the names DINO configs tag."""

    def __init__(
        self, in_features: int = 16, width: int = 16, depth: int = 2, out: int = 32
    ) -> None:
        super().__init__()
        self.backbone = _Backbone(in_features, width, depth)
        self.head = _Head(width, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class TinyMLP(nn.Module):
    """``fc1`` → ``norm`` (LayerNorm) → ``fc2``: the smallest model with every kind of group."""

    def __init__(self, in_features: int = 8, width: int = 16, out: int = 1) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, width)
        self.norm = nn.LayerNorm(width)
        self.fc2 = nn.Linear(width, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.norm(self.fc1(x))))
