"""The packed THE-X circuit for a converted ``BertEncoder``: many tokens and channels per ciphertext, no rotations.

Same protocol and depth as :mod:`beitmm.he.bert` (CKKS depth 2 between client round trips; the client refreshes,
applies ReLU and regroups values by index lists), with other layouts. ``S`` slots per ciphertext, ``L`` tokens:

- *columns* (the input of every linear layer): one ciphertext per input channel ``c``, ``X[:, c]`` tiled ``B = S //
  L`` times; a layer ``X W`` is then ``sum_c col_c * w_c`` per block of ``B`` outputs, where the plaintext ``w_c``
  holds ``W[c, o]`` repeated over the ``L`` tokens of output ``o``: ``Cin x ceil(Cout / B)`` plaintext products and
  no rotation (``Cin * Cout * L / S`` products is the least any slot-wise scheme needs);
- *blocks* (every linear output): block ``k`` holds ``Y[l, kB + o]`` at slot ``o L + l``;
- *scores*: the ``L x L`` scores of ``S // L^2`` heads per ciphertext, ``sum_d Q_d * K_d`` over the head's ``D``
  channels (ct x ct), the client having spread ``Q[i, d]`` over the keys ``j`` and ``K[j, d]`` over the queries;
- *values*: per key ``j``, ``V[j, c]`` spread over the queries, so ``sum_j A_j * V_j`` lands in block layout.

Per layer (levels in brackets; 10 round trips, the first layer's input needs none): q / k / v and the residual from
the columns [1] (the previous layer's output norm folded in); client regroups q / k / v; scores (+ the plaintext
relative position bias) [1]; client refresh; numerator polyval [2]; client ReLU, which also returns each row's sum
over the kept keys (a layout sum: no weight involved) spread over the row; the reciprocal network on those sums
(scalar products [1] per layer, client ReLU between); ``n * (T(sum) * keep)`` [2]; client regroups the weights per
key; ``sum_j a_ij v_j`` [1]; client columns; ``proj`` + residual [1]; client columns; the attention output norm and
``fc1`` (the norm folded) from the same columns [1]; client ReLU into columns; ``fc2`` + residual [1]. The output
norm folds into the next layer (or the head). A classifier head: the client sends the [CLS] columns, the server
applies ``pooler.dense`` (norm folded) [1], the client ReLU, the server ``classifier`` [1].

The server learns the length and, through the multiplicative key mask, which positions are padding (as in
:mod:`beitmm.he.bert`); the client sees the decrypted activations it refreshes (THE-X's protocol).
"""
import time
from typing import List, Optional, Tuple

import numpy as np

from beitmm.models.the_x.approx import NUMERATOR_COEFFS

from .bert import BertLayerPlan
from .context import poly_modulus_degree
from .protocol import Client
from .server import Server


def block_index(length: int, channels: int, slots: int, base: int = 0) -> np.ndarray:
    """Flat indices [L, C] of a block-layout matrix among the client's concatenated decrypted values."""
    per = slots // length
    c = np.arange(channels)
    return base + (c // per)[None] * slots + (c % per)[None] * length + np.arange(length)[:, None]


def cols_gather(index: np.ndarray, slots: int) -> List[np.ndarray]:
    """Column layout of the matrix whose entries sit at ``index`` [L, C]: per channel, its L values tiled (-1: 0)."""
    length, channels = index.shape
    per = slots // length
    out = np.full((channels, slots), -1, dtype=np.int64)
    out[:, :per * length] = np.tile(index.T, (1, per))
    return list(out)


def blocks_gather(index: np.ndarray, slots: int) -> List[np.ndarray]:
    """Block layout of the matrix at ``index`` [L, C]."""
    length, channels = index.shape
    per = slots // length
    out = np.full((-(-channels // per), slots), -1, dtype=np.int64)
    c = np.arange(channels)
    out[(c // per)[None], (c % per)[None] * length + np.arange(length)[:, None]] = index
    return list(out)


def plain(values: np.ndarray):
    """A TenSEAL plaintext tensor (measured: its products cost ~20% less than those with a Python list)."""
    import tenseal as ts
    return ts.plain_tensor(values.tolist())


def linear(cols: list, weight: np.ndarray, bias: np.ndarray, length: int, slots: int) -> list:
    """Block-layout ``X W + b`` from column ciphertexts (see the module docstring); weight [Cin, Cout], one level."""
    per = slots // length
    out = []
    for k in range(-(-weight.shape[1] // per)):
        w = weight[:, k * per:(k + 1) * per]  # [Cin, B']
        acc = None
        for c, row in enumerate(w):
            if not row.any():
                continue
            pt = np.zeros(slots)
            pt[:row.size * length] = np.repeat(row, length)
            term = cols[c] * plain(pt)
            acc = term if acc is None else acc.add_(term)
        b = np.zeros(slots)
        b[:w.shape[1] * length] = np.repeat(bias[k * per:(k + 1) * per], length)
        out.append(cols[0] * 0. + b.tolist() if acc is None else acc + b.tolist())
    return out


class PackedBert:
    """Runs the packed circuit for one text of ``length`` tokens.

    Args:
        server: The server (public context; its ``slots`` and timers are used).
        client: The client's round-trip endpoint.
        plans: Folded layers (:func:`beitmm.he.bert.plan_bert_layer`; ``core.bias``: a plaintext score bias
            [heads, L, L] or None).
        length: Tokens L (padding included).
        keep: Bool [L] key mask (True = may attend) or None.
    """

    def __init__(self, server: Server, client: Client, plans: List[BertLayerPlan], length: int,
                 keep: Optional[np.ndarray]) -> None:
        self.server, self.client, self.plans, self.n = server, client, plans, length
        self.slots = s = poly_modulus_degree(server.context) // 2
        core = plans[0].core
        self.c, self.h = core.wv.shape[0], core.heads
        self.d = self.c // self.h
        if length * length > s:
            raise ValueError(f'the packed circuit fits L x L scores of one head in a ciphertext: L={length} needs '
                             f'{length * length} slots, the context has {s}')
        self.hg = min(self.h, s // (length * length))  # heads per score ciphertext
        self.groups = -(-self.h // self.hg)
        self.keep = np.ones(length, bool) if keep is None else np.asarray(keep, bool)
        self._layouts()

    def _layouts(self) -> None:
        n, s, h, hg, c = self.n, self.slots, self.h, self.hg, self.c
        grid = np.arange(hg * n * n)  # slot of (head in group a, query i, key j)
        a_of, i_of, j_of = grid // (n * n), grid // n % n, grid % n
        self.score_slots = (a_of, i_of, j_of)
        self.keep_pt = []  # per group: keep_j at real (head, i, j) slots
        for g in range(self.groups):
            pt = np.zeros(s)
            real = g * hg + a_of < h
            pt[grid[real]] = self.keep[j_of[real]]
            self.keep_pt.append(pt)
        per = s // n  # channels per value ciphertext
        self.vgroups = -(-c // per)
        # the client's gathers: layout metadata, the same for every layer
        self.bi = block_index(n, c, s)  # [L, C] flat index of a block-layout matrix
        self.si = si = self._score_index()  # [h, L, L] flat index of the score layout
        self.cols_c = cols_gather(self.bi, s)
        self.cols_f = cols_gather(block_index(n, self.plans[0].core.w1.shape[1], s), s)
        nb = -(-c // per)  # ciphertexts of q (and of k, v)
        vi = self.bi + 2 * nb * s
        self.qkv_gather = (self._qk_gather(self.bi, self.bi + nb * s)
                           + self._per_key_gather(lambda j, ch: np.repeat(vi[j, ch][:, None], n, 1)))
        self.kept = np.where(self.keep[None, None, None], si[:, :, None, :], -1)  # [h, L, 1, L] kept keys per row
        rows = np.broadcast_to(self.kept, (h, n, n, n))  # every (head, i, j) slot gets row (head, i)'s sum
        self.sum_gather = [np.arange(s) + g * s for g in range(self.groups)]  # the numerators themselves
        for g in range(self.groups):
            v = np.full((s, n), -1, dtype=np.int64)
            v[(si[g * hg:(g + 1) * hg] - g * s).ravel()] = rows[g * hg:(g + 1) * hg].reshape(-1, n)
            self.sum_gather.append(v)
        heads_of = np.arange(c) // self.d
        self.av_gather = self._per_key_gather(lambda j, ch: si[heads_of[ch], :, j])

    # ------------------------------------------------------------------ client gathers
    def _qk_gather(self, qi: np.ndarray, ki: np.ndarray) -> List[np.ndarray]:
        """Q spread over keys and K over queries per (group, head channel): ``2 * groups * D`` vectors."""
        a_of, i_of, j_of = self.score_slots
        out = []
        for g in range(self.groups):
            head = g * self.hg + a_of
            real = head < self.h
            for src, tok in ((qi, i_of), (ki, j_of)):
                for dd in range(self.d):
                    v = np.full(self.slots, -1, dtype=np.int64)
                    v[:len(head)][real] = src[tok[real], head[real] * self.d + dd]
                    out.append(v)
        return out

    def _per_key_gather(self, index_of) -> List[np.ndarray]:
        """Per key j and channel group: slot ``c L + i`` <- ``index_of(j, channel, query)`` (-1: 0)."""
        n, per = self.n, self.slots // self.n
        out = []
        for j in range(n):
            for g in range(self.vgroups):
                ch = np.arange(g * per, min(self.c, (g + 1) * per))
                v = np.full(self.slots, -1, dtype=np.int64)
                v[((ch - g * per)[:, None] * n + np.arange(n)[None]).ravel()] = index_of(j, ch).ravel()
                out.append(v)
        return out

    def _score_index(self, base: int = 0) -> np.ndarray:
        """Flat index [heads, L, L] of the score-layout values."""
        hh, i, j = np.meshgrid(np.arange(self.h), np.arange(self.n), np.arange(self.n), indexing='ij')
        return base + (hh // self.hg) * self.slots + ((hh % self.hg) * self.n + i) * self.n + j

    # ------------------------------------------------------------------ the layer
    def layer(self, cols: list, lp: BertLayerPlan, prenorm: Optional[Tuple[np.ndarray, np.ndarray]],
              resid: Optional[list], name: str) -> list:
        """One layer: columns of its input (before ``prenorm``) -> block-layout output before the output norm."""
        srv, cl, n, h, si = self.server, self.client, self.n, self.h, self.si
        core = lp.core
        t0 = time.perf_counter()
        wq, bq = np.concatenate(core.wq, 1), np.concatenate(core.bq)
        wk, bk = np.concatenate(core.wk, 1), np.concatenate(core.bk)
        mats = [(wq, bq), (wk, bk), (core.wv, core.bv)]
        if prenorm is not None:  # x = z M + m folded into q / k / v; the residual computed from the same columns
            m, mb = prenorm
            mats = [(m @ w, mb @ w + b) for w, b in mats] + [(m, mb)]
        outs = [linear(cols, w, b, n, self.slots) for w, b in mats]
        if prenorm is not None:
            resid = outs.pop()
        got = srv._trip(cl, [ct for out in outs for ct in out], 'refresh', gather=self.qkv_gather)
        nqk = 2 * self.groups * self.d
        qk, vv = got[:nqk], got[nqk:]
        scores = []
        for g in range(self.groups):
            pair = qk[2 * g * self.d:2 * (g + 1) * self.d]
            acc = pair[0] * pair[self.d]
            for dd in range(1, self.d):
                acc.add_(pair[dd] * pair[self.d + dd])
            if core.bias is not None:  # [heads, L, L] plaintext score bias (UniLM v2), the softmax scale folded
                pt = np.zeros(self.slots)
                a_of, i_of, j_of = self.score_slots
                real = g * self.hg + a_of < h
                pt[:len(a_of)][real] = core.bias[g * self.hg + a_of[real], i_of[real], j_of[real]]
                acc = acc + pt.tolist()
            scores.append(acc)
        lo, hi = core.softmax.input_range
        scores = srv._trip(cl, scores, 'refresh', index_checks=[(si[:, :, self.keep], lo, hi, 'softmax input', False)])
        num = [sc.polyval(list(NUMERATOR_COEFFS)) for sc in scores]  # (s / 2 + 1)^3 [2]
        slo, shi = core.softmax.sum_range
        got = srv._trip(cl, num, 'relu', gather=self.sum_gather,
                        index_checks=[(self.kept[:, :, 0], slo, shi, 'softmax row sum', True)])
        num, rsum = got[:self.groups], got[self.groups:]
        w1, b1, w2, b2, w3, b3 = core.rec
        z = srv._trip(cl, [r * float(w1[u]) + float(b1[u]) for r in rsum for u in range(len(w1))], 'relu')
        hid = len(w1)
        z2 = []
        for g in range(self.groups):
            zg = z[g * hid:(g + 1) * hid]
            for u in range(hid):
                acc = zg[0] * float(w2[0, u])
                for t in range(1, hid):
                    acc.add_(zg[t] * float(w2[t, u]))
                z2.append(acc + float(b2[u]))
        z2 = srv._trip(cl, z2, 'relu')
        attn = []
        for g in range(self.groups):
            kp = self.keep_pt[g]
            acc = z2[g * hid] * (kp * float(w3[0])).tolist()
            for u in range(1, hid):
                acc.add_(z2[g * hid + u] * (kp * float(w3[u])).tolist())
            attn.append(num[g] * (acc + (kp * float(b3[0])).tolist()))  # n * T(sum) * keep [2]
        av = srv._trip(cl, attn, 'refresh', gather=self.av_gather)
        y = []
        for g in range(self.vgroups):
            acc = av[g] * vv[g]
            for j in range(1, n):
                acc.add_(av[j * self.vgroups + g] * vv[j * self.vgroups + g])
            y.append(acc)
        ycols = srv._trip(cl, y, 'refresh', gather=self.cols_c)
        u = [a + b for a, b in zip(linear(ycols, core.wp, core.bp, n, self.slots), resid, strict=True)]
        t1 = time.perf_counter()
        srv.seconds[f'{name}.attention'] += t1 - t0
        ucols = srv._trip(cl, u, 'refresh', gather=self.cols_c)
        hs = linear(ucols, lp.n1, lp.nb1, n, self.slots)  # attention.output.LayerNorm [1]
        f = linear(ucols, lp.n1 @ core.w1, lp.nb1 @ core.w1 + core.b1, n, self.slots)  # fc1, the norm folded [1]
        fcols = srv._trip(cl, f, 'relu', gather=self.cols_f)
        out = [a + b for a, b in zip(hs, linear(fcols, core.w2, core.b2, n, self.slots), strict=True)]
        srv.seconds[f'{name}.mlp'] += time.perf_counter() - t1
        return out

    def run(self, embeddings: np.ndarray, head: Optional[Tuple[np.ndarray, ...]] = None) -> np.ndarray:
        """Encrypt ``embeddings`` [L, C] and run every layer.

        Args:
            embeddings: The client's token embeddings [L, C].
            head: Optional (pooler weight [C, C], its bias, classifier weight [C, K], its bias), [in, out] layout.

        Returns:
            The decrypted hidden states [L, C] or, with ``head``, the logits [K].
        """
        srv, cl, n, c, s = self.server, self.client, self.n, self.c, self.slots
        flat = embeddings.ravel()
        idx = np.arange(n * c).reshape(n, c)
        blobs = cl.encrypt([np.append(flat, 0.)[g] for g in cols_gather(idx, s) + blocks_gather(idx, s)])
        x = srv._load(blobs)
        cols, resid = x[:c], x[c:]
        prenorm = None
        for i, lp in enumerate(self.plans):
            z = self.layer(cols, lp, prenorm, resid, f'layer{i}')
            prenorm, resid = (lp.n2, lp.nb2), None
            if i + 1 < len(self.plans):
                cols = srv._trip(cl, z, 'refresh', gather=self.cols_c)
        m, mb = prenorm
        if head is None:
            cols = srv._trip(cl, z, 'refresh', gather=self.cols_c)
            out = linear(cols, m, mb, n, s)
            return np.concatenate(cl.decrypt(srv._dump(out)))[self.bi]
        wp, bp, wc, bc = head
        cls = srv._trip(cl, z, 'refresh', gather=cols_gather(self.bi[:1], s))  # the [CLS] token's columns
        pooled = srv._trip(cl, linear(cls, m @ wp, mb @ wp + bp, 1, s), 'relu',
                           gather=cols_gather(block_index(1, c, s), s))
        logits = linear(pooled, wc, bc, 1, s)
        return np.concatenate(cl.decrypt(srv._dump(logits)))[:wc.shape[1]]
