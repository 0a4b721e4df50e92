"""Encrypted THE-X inference of a converted ``BertEncoder`` (BERT / MiniLM): texts of any length, with padding.

The client computes the embeddings (word + position + segment, the embedding norm: THE-X's client does the lookup, the
ids never leave it) and encrypts one vector per token. The server runs every post-LN layer on ciphertext through the
same attention circuit as the BEiT blocks (:meth:`beitmm.he.Server.attention`: per-head q / k, the THE-X softmax with
the padding applied multiplicatively, ``sum_j a_ij v_j``, the output dense layer), then:

1. client refresh of ``x + attention`` (the residual);
2. server: the attention output's affine norm (``THEXAffineNorm``, a matmul) [1], ``intermediate.dense`` [2]; client
   ReLU;
3. server: ``output.dense`` [1], the residual, the output's affine norm [2].

Post-LN leaves no linear map before each norm to fold it into (the residual sits between), so the norms cost a
level each. 8 client round trips per layer (7 for the first, whose input is fresh). The client decrypts the hidden
states [L, C] (e.g. to mean-pool a sentence embedding). The server learns the padded length and, through the
multiplicative key mask folded into its plaintext matrices, which positions are padding.
"""
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn

from beitmm.models.the_x.approx import THEXAffineNorm, THEXSoftmax

from .plan import BlockPlan, _np
from .protocol import Client
from .runtime import EncryptedRun
from .server import Server, open_session


@dataclass
class BertLayerPlan:
    """One post-LN BERT layer: the shared attention plan plus the two affine norms ([in, out] layout)."""

    core: BlockPlan  # attention weights, the FFN in w1 / b1 / w2 / b2
    n1: np.ndarray  # [C, C]: attention.output.LayerNorm (affine)
    nb1: np.ndarray
    n2: np.ndarray  # [C, C]: output.LayerNorm (affine)
    nb2: np.ndarray


def _norm(norm: nn.Module, name: str):
    if not isinstance(norm, THEXAffineNorm):
        raise TypeError(f'{name} is {type(norm).__name__}; the encrypted runtime needs a converted BertEncoder '
                        '(THEXAffineNorm): run beitmm.models.the_x.convert_model first')
    return _np(norm.matrix()).T.copy(), _np(norm.bias)


def plan_bert_layer(layer: nn.Module, name: str) -> BertLayerPlan:
    """Fold a converted :class:`~beitmm.models.backbones.bert.BertLayer` (score scales into q).

    Args:
        layer: The layer (eval mode).
        name: Its module name (errors).

    Returns:
        The plan.
    """
    att = layer.attention.self
    sm = att._modules.get('softmax')
    if not isinstance(sm, THEXSoftmax) or not isinstance(layer.intermediate.intermediate_act_fn, nn.ReLU):
        raise TypeError(f'{name}: convert the BertEncoder first (beitmm.models.the_x.convert_model: THEXSoftmax, '
                        'ReLU); the encrypted runtime evaluates ReLU on the client')
    c, h = att.query.in_features, att.num_heads
    d = c // h
    scale = d ** -0.5 * float(sm.scale.detach())
    wq, bq = _np(att.query.weight).T * scale, _np(att.query.bias) * scale  # [C, C], [C]
    wk, bk = _np(att.key.weight).T, _np(att.key.bias)
    r = sm.reciprocal
    rec = (_np(r[0].weight)[:, 0], _np(r[0].bias), _np(r[2].weight).T.copy(), _np(r[2].bias), _np(r[4].weight)[0],
           _np(r[4].bias))
    core = BlockPlan(h, [wq[:, i * d:(i + 1) * d].copy() for i in range(h)], [bq[i * d:(i + 1) * d] for i in range(h)],
                     [wk[:, i * d:(i + 1) * d].copy() for i in range(h)], [bk[i * d:(i + 1) * d] for i in range(h)],
                     _np(att.value.weight).T.copy(), _np(att.value.bias), None, rec, sm,
                     _np(layer.attention.output.dense.weight).T.copy(), _np(layer.attention.output.dense.bias),
                     _np(layer.intermediate.dense.weight).T.copy(), _np(layer.intermediate.dense.bias), None,
                     _np(layer.output.dense.weight).T.copy(), _np(layer.output.dense.bias))
    n1, nb1 = _norm(layer.attention.output.LayerNorm, f'{name}.attention.output.LayerNorm')
    n2, nb2 = _norm(layer.output.LayerNorm, f'{name}.output.LayerNorm')
    return BertLayerPlan(core, n1, nb1, n2, nb2)


def bert_layer(server: Server, x: list, lp: BertLayerPlan, client: Client, name: str, keep: Optional[np.ndarray],
               refresh: bool = True) -> list:
    """One encrypted post-LN BERT layer (see the module docstring); token ciphertexts in and out."""
    t0 = time.perf_counter()
    if refresh:
        x = server._trip(client, x, 'refresh')
    y = server.attention(x, lp.core, client, keep)
    u = server._trip(client, [xi + yi for xi, yi in zip(x, y, strict=True)], 'refresh')
    hs = [ui.matmul(lp.n1.tolist()) + lp.nb1.tolist() for ui in u]  # attention.output.LayerNorm [1]
    t1 = time.perf_counter()
    server.seconds[f'{name}.attention'] += t1 - t0
    blk = lp.core
    g = server._trip(client, [hi.matmul(blk.w1.tolist()) + blk.b1.tolist() for hi in hs], 'relu')
    z = [hi + (gi.matmul(blk.w2.tolist()) + blk.b2.tolist()) for hi, gi in zip(hs, g, strict=True)]
    out = [zi.matmul(lp.n2.tolist()) + lp.nb2.tolist() for zi in z]  # output.LayerNorm [2]
    server.seconds[f'{name}.mlp'] += time.perf_counter() - t1
    return out


def client_embeddings(encoder: nn.Module, ids: torch.Tensor, token_types: Optional[torch.Tensor] = None
                      ) -> np.ndarray:
    """What the client encrypts: the embeddings [L, C] of one text's ids [L] (the client computes them)."""
    with torch.no_grad():
        types = None if token_types is None else token_types[None]
        return encoder._embed(ids[None], None, types)[0].double().numpy()


def score_bias(encoder: nn.Module, length: int, scale: float) -> Optional[np.ndarray]:
    """UniLM v2's relative position bias [heads, L, L] of a ``BertEncoder`` times a layer's softmax ``scale``.

    The THE-X softmax scales the biased scores. None without ``rel_pos_bias``. It depends on positions only.
    """
    if getattr(encoder, 'rel_pos_bias', None) is None:
        return None
    from beitmm.models.backbones.bert_rel_pos import rel_pos_bias
    pos = torch.arange(length)[None]
    with torch.no_grad():
        return _np(rel_pos_bias(encoder.rel_pos_bias.weight, pos, pos, encoder.max_rel_pos)[0]) * scale


def bert_plans(encoder: nn.Module, length: int) -> List[BertLayerPlan]:
    """Folded layers of a converted ``BertEncoder`` for texts of ``length`` tokens (checks the encoder)."""
    if type(encoder).__name__ != 'BertEncoder':
        raise TypeError(f'the encrypted text runtime runs a converted beitmm.BertEncoder, got '
                        f'{type(encoder).__name__}')  # ELECTRA's embeddings_project is the client's (embeddings)
    plans = [plan_bert_layer(layer, f'encoder.layer.{i}') for i, layer in enumerate(encoder.encoder.layer)]
    for lp in plans:
        lp.core.bias = score_bias(encoder, length, float(lp.core.softmax.scale.detach()))
    return plans


def encrypted_bert_inference(encoder: nn.Module, ids: torch.Tensor, padding_mask: Optional[torch.Tensor] = None,
                             token_types: Optional[torch.Tensor] = None, context=None,
                             circuit: str = 'packed') -> EncryptedRun:
    """Encode texts on ciphertext with a converted ``BertEncoder`` (see the module docstring).

    Args:
        encoder: A converted (``beitmm.models.the_x.convert_model``) ``BertEncoder`` in eval mode.
        ids: Token ids [B, L]; any L up to the position table (the embedding raises beyond it).
        padding_mask: Bool [B, L], True at padding (a multiplicative key mask); None: no padding.
        token_types: Segment ids [B, L] (default 0).
        context: The client's private CKKS context (default: derived from the circuit depth); checked first.
        circuit: ``'packed'`` (:mod:`beitmm.he.packed`: many tokens and channels per ciphertext) or ``'token'``
            (this module's circuit: one ciphertext per token).

    Returns:
        ``EncryptedRun`` whose ``logits`` are the decrypted hidden states [B, L, C].
    """
    if circuit not in ('packed', 'token'):
        raise ValueError(f"circuit must be 'packed' or 'token', got {circuit!r}")
    if ids.dim() != 2 or (padding_mask is not None and padding_mask.shape != ids.shape):
        raise ValueError(f'ids must be [B, L] and padding_mask [B, L] bool, got {tuple(ids.shape)} / '
                         f'{None if padding_mask is None else tuple(padding_mask.shape)}')
    plans = bert_plans(encoder, ids.shape[1])
    tokens = [client_embeddings(encoder, ids[b], None if token_types is None else token_types[b])
              for b in range(len(ids))]
    c, n = encoder.hidden_size, ids.shape[1]
    slots = max(c, n * n if circuit == 'packed' else n, plans[0].core.w1.shape[1], plans[0].core.rec[0].shape[0])
    client, server = open_session(context, slots)
    states: List[np.ndarray] = []
    secs: List[float] = []
    for b, tok in enumerate(tokens):
        keep = None if padding_mask is None else (~padding_mask[b]).numpy()
        t = time.perf_counter()
        if circuit == 'packed':
            from .packed import PackedBert  # imports this module's plan
            states.append(PackedBert(server, client, plans, n, keep).run(tok))
        else:
            x = server._load(client.encrypt(tok))
            for i, lp in enumerate(plans):
                x = bert_layer(server, x, lp, client, f'layer{i}', keep, refresh=i > 0)
            states.append(np.stack(client.decrypt(server._dump(x)))[:, :c])
        secs.append(time.perf_counter() - t)
    return EncryptedRun(np.stack(states), client.wire, secs, dict(server.seconds))

