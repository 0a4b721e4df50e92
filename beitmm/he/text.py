"""Encrypted THE-X inference of a ``TextClassifier`` (one text at a time, at its own length: no padding).

On a ``BertEncoder`` (BERT / MiniLM / ELECTRA / UniLM v2 layouts) the server runs the packed circuit of
:mod:`beitmm.he.packed` and the head on ciphertext ([CLS] columns, ``pooler.dense`` with the last output norm folded,
client ReLU, ``classifier``).

On VLMo's text branch:

The client holds the token embedding (THE-X's client computes the embedding lookup: ids never leave it) and
encrypts one vector per token; the server runs the MoME blocks (shared attention, the text FFN expert) with VLMo's
per-layer text position bias as a plaintext (it depends only on the length), then the head: the client refreshes
the first token, the server applies the pooler's dense layer (the final norm folded), the client its ReLU, the
server the classifier.
"""
import time
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn as nn

from .plan import BlockPlan, _np, fold_norm, plan_block
from .protocol import Client
from .runtime import EncryptedRun
from .server import Server, open_session


@dataclass
class TextPlan:
    """Blocks of one text length and the classifier head."""

    blocks: List[BlockPlan]
    w_pool: np.ndarray  # [C, C]: pooler.dense with the final norm folded
    b_pool: np.ndarray
    w_cls: np.ndarray  # [C, K]
    b_cls: np.ndarray


def plan_text_classifier(model: nn.Module, length: int) -> TextPlan:
    """Fold a converted ``TextClassifier`` on a ``VLMo`` backbone for texts of ``length`` tokens.

    Args:
        model: The converted classifier (eval mode).
        length: Tokens of the texts.

    Returns:
        The plan.
    """
    bb = model.backbone
    if type(bb).__name__ != 'VLMo' or not isinstance(model.pooler.activation, nn.ReLU):
        raise TypeError('the encrypted text runtime supports a converted TextClassifier on VLMo (ReLU pooler)')
    biases: Dict[int, torch.Tensor] = {}
    hooks = [blk.register_forward_pre_hook(lambda m, args, i=i: biases.__setitem__(i, args[3]))
             for i, blk in enumerate(bb.transformer.blocks)]
    try:  # the bias depends on the positions only: any ids of this length give it
        with torch.no_grad():
            bb(text=torch.zeros(1, length, dtype=torch.long), text_positions=torch.arange(length))
    finally:
        for h in hooks:
            h.remove()
    biases = {i: (b[0] if b.dim() == 4 else b).detach() for i, b in biases.items()}  # [heads, N, N]
    blocks = [plan_block(blk, f'backbone.transformer.blocks.{i}', None, 'text', biases[i])
              for i, blk in enumerate(bb.transformer.blocks)]
    w_pool, b_pool = fold_norm(bb.transformer.norm, _np(model.pooler.dense.weight), _np(model.pooler.dense.bias),
                               'backbone.transformer.norm')
    return TextPlan(blocks, w_pool, b_pool, _np(model.classifier.weight).T.copy(), _np(model.classifier.bias))


def client_tokens(model: nn.Module, text: str) -> np.ndarray:
    """What the client encrypts: its text's token embeddings [L, C] (computed by the client)."""
    ids = model.tokenizer.encode_batch([text], model.max_len, 'warn', 'longest')['input_ids']  # [1, L]
    with torch.no_grad():
        return model.backbone.embed_text(ids)[0].double().numpy()


def _forward(server: Server, plan: TextPlan, tokens: List[bytes], client: Client) -> bytes:
    x = server._load(tokens)
    for i, blk in enumerate(plan.blocks):
        x = server.block(x, blk, client, f'block{i}', None, refresh=i > 0)
    t = time.perf_counter()
    first = server._trip(client, [x[0]], 'refresh')[0]
    pooled = server._trip(client, [first.matmul(plan.w_pool.tolist()) + plan.b_pool.tolist()], 'relu')[0]
    logits = pooled.matmul(plan.w_cls.tolist()) + plan.b_cls.tolist()
    server.seconds['head'] += time.perf_counter() - t
    return logits.serialize()


def _bert_classifier(model: nn.Module, texts: Sequence[str], context) -> EncryptedRun:
    """The packed circuit and head on a ``BertEncoder`` backbone (see the module docstring)."""
    from .bert import bert_plans, client_embeddings
    from .packed import PackedBert
    if not isinstance(model.pooler.activation, nn.ReLU):
        raise TypeError('the encrypted text runtime needs a converted TextClassifier (ReLU pooler): run '
                        'beitmm.models.the_x.convert_model first')
    ids = [model.tokenizer.encode_batch([t], model.max_len, 'warn', 'longest')['input_ids'][0] for t in texts]
    enc = model.backbone
    plans = {n: bert_plans(enc, n) for n in sorted({len(i) for i in ids})}
    first = next(iter(plans.values()))[0].core
    slots = max(enc.hidden_size, first.w1.shape[1], max(plans) ** 2)
    client, server = open_session(context, slots)
    head = (_np(model.pooler.dense.weight).T.copy(), _np(model.pooler.dense.bias),
            _np(model.classifier.weight).T.copy(), _np(model.classifier.bias))
    logits: List[np.ndarray] = []
    secs: List[float] = []
    for i in ids:
        t = time.perf_counter()
        logits.append(PackedBert(server, client, plans[len(i)], len(i), None).run(client_embeddings(enc, i), head))
        secs.append(time.perf_counter() - t)
    return EncryptedRun(np.stack(logits), client.wire, secs, dict(server.seconds))


def encrypted_text_inference(model: nn.Module, texts: Sequence[str], context=None) -> EncryptedRun:
    """Classify texts on ciphertext (see the module docstring).

    Args:
        model: A converted ``TextClassifier`` on a ``BertEncoder`` or on VLMo's text branch, eval mode.
        texts: The client's texts.
        context: Private CKKS context (default: derived from the circuit depth); checked before running.

    Returns:
        Decrypted logits [B, K], traffic, round trips and timings.
    """
    if type(model.backbone).__name__ == 'BertEncoder':
        return _bert_classifier(model, texts, context)
    token_sets = [client_tokens(model, t) for t in texts]
    plans: Dict[int, TextPlan] = {}
    c = token_sets[0].shape[1]
    slots = max(c, model.backbone.transformer.blocks[0].mlp_text.fc1.out_features, *(len(t) for t in token_sets))
    client, server = open_session(context, slots)
    logits: List[np.ndarray] = []
    secs: List[float] = []
    for tokens in token_sets:
        plan = plans.setdefault(len(tokens), plan_text_classifier(model, len(tokens)))
        t = time.perf_counter()
        logits.append(client.decrypt([_forward(server, plan, client.encrypt(tokens), client)])[0])
        secs.append(time.perf_counter() - t)
    return EncryptedRun(np.stack(logits), client.wire, secs, dict(server.seconds))

