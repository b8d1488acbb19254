"""
The generator network in torch (training and export only; imports torch).

Encoder (run once per request): projects the frozen MiniLM token states of
the task, embeds the retrieved-plan tokens and the two state tokens, mixes
them with ``n_enc_layers`` small self-attention layers, and builds one vector
per copy candidate (mean over the candidate's token span + kind / source /
order embeddings).

Decoder: a 2-layer GRU (no input feeding, so training runs the attention for
all positions at once) with dot-product attention over the encoder memory;
the output is one logit per vocabulary token followed by one pointer logit per
candidate (the copy mechanism).  The previous token is
embedded from the vocabulary table or, for a copied candidate, from the
candidate's vector.

Everything is written with plain tensor ops so the legacy ONNX exporter
handles it; batch-first throughout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import math

from torch import nn
import torch

from rag_planner.generation.candidates import CAND_KINDS, SOURCES

HIDDEN = 384
NEG = -1e4


@dataclass
class ModelConfig:
    """Sizes of the network (saved with the export)."""

    n_in_tokens: int
    n_out_tokens: int
    d: int = 192
    n_heads: int = 4
    n_enc_layers: int = 1
    ff: int = 384
    n_query: int = 64
    n_cand: int = 12
    n_retr: int = 96
    dropout: float = 0.1

    def to_dict(self) -> dict:
        """Return a JSON-able dict."""
        return asdict(self)


class _SelfAttn(nn.Module):
    """Pre-norm transformer encoder layer with an additive key mask."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.n1 = nn.LayerNorm(d)
        self.n2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, m, d = x.shape
        q, k, v = self.qkv(self.n1(x)).chunk(3, dim=-1)
        dh = d // self.h
        q = q.reshape(b, m, self.h, dh).transpose(1, 2)
        k = k.reshape(b, m, self.h, dh).transpose(1, 2)
        v = v.reshape(b, m, self.h, dh).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh) + bias[:, None, None, :]
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, m, d)
        x = x + self.drop(self.o(y))
        return x + self.drop(self.ff(self.n2(x)))


class _GRUCell(nn.Module):
    """GRU cell from linear layers (exports to plain ONNX ops)."""

    def __init__(self, n_in: int, d: int) -> None:
        super().__init__()
        self.ih = nn.Linear(n_in, 3 * d)
        self.hh = nn.Linear(d, 3 * d)

    def cell(self, gi: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Update ``h`` given the precomputed input projection ``gi``."""
        gh = self.hh(h)
        ir, iz, in_ = gi.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        r = torch.sigmoid(ir + hr)
        z = torch.sigmoid(iz + hz)
        n = torch.tanh(in_ + r * hn)
        return (1 - z) * n + z * h

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.cell(self.ih(x), h)


class PlanGenerator(nn.Module):
    """Encoder + one-step decoder with a copy head."""

    def __init__(self, cfg: ModelConfig) -> None:
        """Create the layers."""
        super().__init__()
        d = cfg.d
        self.cfg = cfg
        self.q_proj = nn.Linear(HIDDEN, d)
        self.q_norm = nn.LayerNorm(d)
        self.tag_emb = nn.Embedding(len(CAND_KINDS) + 1, d)
        self.in_emb = nn.Embedding(cfg.n_in_tokens, d)
        self.rank_emb = nn.Embedding(8, d)
        self.pos_emb = nn.Embedding(64, d)
        self.ord_emb = nn.Embedding(8, d)
        self.match_emb = nn.Embedding(3, d)
        self.seg_emb = nn.Embedding(3, d)
        self.layers = nn.ModuleList(
            [_SelfAttn(d, cfg.n_heads, cfg.ff, cfg.dropout) for _ in range(cfg.n_enc_layers)])
        self.mem_norm = nn.LayerNorm(d)
        self.kind_emb = nn.Embedding(len(CAND_KINDS) + 1, d)
        self.src_emb = nn.Embedding(len(SOURCES), d)
        self.cord_emb = nn.Embedding(8, d)
        self.cand_proj = nn.Linear(d, d)
        self.link_proj = nn.Linear(d, d)
        self.left_proj = nn.Linear(d, d)
        self.right_proj = nn.Linear(d, d)
        self.init_h = nn.Linear(2 * d, 2 * d)
        self.mem_k = nn.Linear(d, d)
        self.mem_v = nn.Linear(d, d)
        self.out_emb = nn.Embedding(cfg.n_out_tokens, d)
        self.cand_in = nn.Linear(d, d)
        self.hint_in = nn.Linear(d, d)
        self.hint_gate = nn.Linear(d, 1)
        self.gru1 = _GRUCell(d, d)
        self.gru2 = _GRUCell(d, d)
        self.att_q = nn.Linear(d, d)
        self.out = nn.Linear(2 * d, d)
        self.vocab_head = nn.Linear(d, cfg.n_out_tokens)
        self.copy_head = nn.Linear(d, d)
        self.drop = nn.Dropout(cfg.dropout)

    # ------------------------------------------------------------------ encoder
    def encode(self, q_states, q_mask, q_tag, c_span, c_left, c_right, c_kind, c_source,
               c_order, c_mask,
               r_tok, r_rank, r_pos, r_ord, r_match, r_link, r_mask, s_tok):
        """Return memory keys, values, mask bias, candidate vectors, their bias and h0."""
        b = q_states.shape[0]
        q = self.q_norm(self.q_proj(q_states)) + self.tag_emb(q_tag) + self.seg_emb.weight[0]
        # candidate identity vectors (span + context + kind), linked into plan tokens
        c_id = (torch.matmul(c_span, q) + self.left_proj(torch.matmul(c_left, q))
                + self.right_proj(torch.matmul(c_right, q)) + self.kind_emb(c_kind)
                + self.src_emb(c_source) + self.cord_emb(c_order))
        table = torch.cat([torch.zeros_like(c_id[:, :1]), c_id], dim=1)
        linked = torch.gather(table, 1, r_link[..., None].expand(-1, -1, table.shape[2]))
        r = (self.in_emb(r_tok) + self.rank_emb(r_rank) + self.pos_emb(r_pos)
             + self.ord_emb(r_ord) + self.match_emb(r_match) + self.link_proj(linked)
             + self.seg_emb.weight[1])
        s = self.in_emb(s_tok) + self.seg_emb.weight[2]
        x = self.drop(torch.cat([q, r, s], dim=1))
        mask = torch.cat([q_mask, r_mask, torch.ones_like(s_tok, dtype=q_mask.dtype)], dim=1)
        bias = (1.0 - mask) * NEG
        for layer in self.layers:
            x = layer(x, bias)
        mem = self.mem_norm(x)
        nq = q_states.shape[1]
        memq = mem[:, :nq]
        if self.layers:
            c_id = c_id + torch.matmul(c_span, memq)
        cand = self.cand_proj(c_id)
        pq = (memq * q_mask[..., None]).sum(1) / q_mask.sum(1, keepdim=True).clamp(min=1.0)
        mr = mem[:, nq:nq + r_tok.shape[1]]
        pr = (mr * r_mask[..., None]).sum(1) / r_mask.sum(1, keepdim=True).clamp(min=1.0)
        h0 = torch.tanh(self.init_h(torch.cat([pq, pr], dim=-1))).reshape(b, 2, self.cfg.d)
        cand_bias = (1.0 - c_mask) * NEG
        return self.mem_k(mem), self.mem_v(mem), bias, cand, cand_bias, h0

    # ------------------------------------------------------------------ decoder
    def _embed_prev(self, prev, cand):
        """Embed previous tokens (B, L) from the vocabulary table or the candidates."""
        table = torch.cat(
            [self.out_emb.weight[None].expand(cand.shape[0], -1, -1), self.cand_in(cand)], dim=1)
        idx = prev[..., None].expand(-1, -1, table.shape[2])
        return torch.gather(table, 1, idx)

    def _decode(self, emb, hint, h, mem_k, mem_v, bias, cand, cand_bias):
        """
        Run the GRU over (B, L, d) inputs, then attention and heads for all L at once.

        ``hint`` (B, L) holds the hint token aligned with every step (0 = none):
        it is embedded into the GRU input and gets a gated logit bonus, so
        following a correct hint is easy and overriding it is learned.
        """
        hint_emb = self._embed_prev(hint, cand)
        gi1 = self.gru1.ih(self.drop(emb + self.hint_in(hint_emb)))
        h1, h2 = h[:, 0], h[:, 1]
        outs = []
        for t in range(emb.shape[1]):
            h1 = self.gru1.cell(gi1[:, t], h1)
            h2 = self.gru2(self.drop(h1), h2)
            outs.append(h2)
        hs = torch.stack(outs, dim=1)
        att = torch.matmul(self.att_q(hs), mem_k.transpose(1, 2)) / math.sqrt(self.cfg.d)
        att = torch.softmax(att + bias[:, None, :], dim=-1)
        ctx = torch.matmul(att, mem_v)
        o = torch.tanh(self.out(self.drop(torch.cat([hs, ctx], dim=-1))))
        v_logits = self.vocab_head(o)
        c_logits = torch.matmul(self.copy_head(o), cand.transpose(1, 2)) + cand_bias[:, None, :]
        logits = torch.cat([v_logits, c_logits], dim=-1)
        n = logits.shape[-1]
        onehot = (torch.arange(n)[None, None, :] == hint[..., None]).to(logits.dtype)
        onehot = onehot * (hint[..., None] > 0).to(logits.dtype)
        gate = nn.functional.softplus(self.hint_gate(o))
        return logits + gate * onehot, torch.stack([h1, h2], dim=1)

    def step(self, prev, hint, h, mem_k, mem_v, bias, cand, cand_bias):
        """One decoder step; ``prev``/``hint`` are (B,) joint indices."""
        emb = self._embed_prev(prev[:, None], cand)
        logits, h = self._decode(emb, hint[:, None], h, mem_k, mem_v, bias, cand, cand_bias)
        return logits[:, 0], h

    def forward(self, batch: dict, targets: torch.Tensor, masks: torch.Tensor,
                hint: torch.Tensor) -> torch.Tensor:
        """Return the (B, L, V+C) grammar-masked logits under teacher forcing."""
        mem_k, mem_v, bias, cand, cand_bias, h = self.encode(*[batch[k] for k in ENC_KEYS])
        bos = torch.full((targets.shape[0], 1), BOS_INDEX, dtype=torch.long)
        prev = torch.cat([bos, targets[:, :-1].clamp(min=0)], dim=1)
        logits, _ = self._decode(self._embed_prev(prev, cand), hint, h, mem_k, mem_v, bias,
                                 cand, cand_bias)
        return logits.masked_fill(~masks, NEG)


ENC_KEYS = ('q_states', 'q_mask', 'q_tag', 'c_span', 'c_left', 'c_right', 'c_kind',
            'c_source', 'c_order', 'c_mask',
            'r_tok', 'r_rank', 'r_pos', 'r_ord', 'r_match', 'r_link', 'r_mask', 's_tok')
BOS_INDEX = 1


class EncoderExport(nn.Module):
    """Wrapper exported as ``encoder.onnx``."""

    def __init__(self, model: PlanGenerator) -> None:
        """Wrap ``model``."""
        super().__init__()
        self.m = model

    def forward(self, *args):
        """Run the encoder."""
        return self.m.encode(*args)


class StepExport(nn.Module):
    """Wrapper exported as ``decoder_step.onnx``."""

    def __init__(self, model: PlanGenerator) -> None:
        """Wrap ``model``."""
        super().__init__()
        self.m = model

    def forward(self, prev, hint, h, mem_k, mem_v, bias, cand, cand_bias):
        """Run one decoder step."""
        return self.m.step(prev, hint, h, mem_k, mem_v, bias, cand, cand_bias)
