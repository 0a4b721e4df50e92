"""The server of the THE-X protocol: evaluates a folded model (``plan``) on CKKS ciphertexts.

Input: the client encrypts its patch matrix [Np, 3 p p] as one ciphertext; the server computes the patch embedding
one output channel at a time (encrypted matrix x plain vector, [1]); a client refresh regroups the channel columns
into one vector per patch token; the server encrypts the cls token (a model constant) itself.

Per block (one vector ciphertext per token, N tokens, C channels, H heads, D = C / H; levels in brackets, the
CKKS depth between two client round trips is ``CIRCUIT_DEPTH`` = 2):

1. client refresh of the block input (fresh ciphertexts, level 0; the first block's input is fresh already);
2. server: per-head q / k (norm1 and the scale folded) and v = matmul [1]; scores ``q_hi . k_hj`` (ct x ct dot) [2]
   plus the plaintext position bias; client refresh regroups the scores into rows of N keys (and refreshes v);
3. server: numerator cube ``(s / 2 + 1)^3`` (polyval) [2]; client ReLU;
4. server: the reciprocal network on the row sum ``sum_j keep_j n_j`` (the sum and the multiplicative key mask
   folded into the first layer's matrix) [1]; client ReLU; second layer [1]; client ReLU; third layer, its one
   output replicated over the N keys and multiplied by the mask (folded into the matrix) [1]; weights
   ``n * T(sum)`` (ct x ct) [2]; client refresh regroups them per (query, key) with each head's weight repeated
   over its D channels;
5. server: ``sum_j a_ij * v_j`` (ct x ct) [1], proj (gamma_1 folded) [2], residual; client refresh;
6. server: fc1 (norm2 folded) [1]; client ReLU (or server: degree-2 polynomial [2] and a client refresh); fc2
   (gamma_2 folded) [1], residual.

Head: mean of the patch tokens (the 1 / N and the final norm folded into the head) or the cls token; client refresh;
head [1]. The client decrypts the logits.
"""
import time
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np

from beitmm.models.the_x.approx import NUMERATOR_COEFFS

from .context import check_context, derive_params, make_context, require_tenseal
from .plan import BlockPlan, ModelPlan
from .protocol import Client

CIRCUIT_DEPTH = 2  # multiplicative depth between two client round trips (see the module docstring)


class Server:
    """Holds the public context and the model; never the secret key.

    Args:
        plan: The folded model (None: only :meth:`block` is used, e.g. one layer).
        public_context: Serialized public TenSEAL context from the client.
        slots: Longest vector (default: the plan's).
    """

    def __init__(self, plan: Optional[ModelPlan], public_context: bytes, slots: Optional[int] = None) -> None:
        self.ts = require_tenseal()
        self.plan = plan
        self.context = self.ts.context_from(public_context)
        if self.context.is_private():
            raise ValueError('the server must receive a public context (without the secret key)')
        check_context(self.context, CIRCUIT_DEPTH, plan.slots if slots is None else slots)
        self.seconds: Dict[str, float] = defaultdict(float)

    # ------------------------------------------------------------------ wire
    def _load(self, blobs: List[bytes]) -> list:
        return [self.ts.ckks_vector_from(self.context, b) for b in blobs]

    @staticmethod
    def _dump(cts: list) -> List[bytes]:
        return [c.serialize() for c in cts]

    def _trip(self, client: Client, cts: list, op: str, **kw) -> list:
        return self._load(client.round_trip(self._dump(cts), op, **kw))

    # --------------------------------------------------------------- forward
    def forward(self, patches: bytes, client: Client, keep: Optional[np.ndarray] = None) -> bytes:
        """Encrypted logits of one sample.

        Args:
            patches: The client's encrypted patch matrix [Np, 3 p p] (``enc_matmul_encoding``, one ciphertext).
            client: The client's round-trip endpoint.
            keep: Optional bool [N] key mask (True = may attend), applied multiplicatively.

        Returns:
            Serialized logits ciphertext (only the client can decrypt it).
        """
        p = self.plan
        t = time.perf_counter()
        enc = self._load([patches])[0]
        n_p, c = p.b_embed.shape
        # patch embedding per output channel: X w_c (an encrypted-matrix x plain-vector product) + bias + position
        cols = [enc.enc_matmul_plain(p.w_embed[:, ch].tolist(), n_p) + p.b_embed[:, ch].tolist() for ch in range(c)]
        tokens = [np.arange(c) * n_p + i for i in range(n_p)]  # regroup channel columns into token vectors
        x = [self.ts.ckks_vector(self.context, p.cls.tolist())] + self._trip(client, cols, 'refresh', gather=tokens)
        self.seconds['embed'] += time.perf_counter() - t
        for i, blk in enumerate(p.blocks):
            x = self.block(x, blk, client, f'block{i}', keep, refresh=i > 0)
        t = time.perf_counter()
        if p.pool == 'mean':
            pooled = x[1]
            for ct in x[2:]:
                pooled = pooled + ct
        else:
            pooled = x[0]
        # a sum of a fresh ciphertext and a matmul output is not a valid matmul input (measured: 1e-3 errors),
        # so the client refreshes the pooled features before the head
        pooled = self._trip(client, [pooled], 'refresh')[0]
        logits = pooled.matmul(p.w_head.tolist()) + p.b_head.tolist()
        self.seconds['head'] += time.perf_counter() - t
        return logits.serialize()

    def block(self, x: list, blk: BlockPlan, client: Client, name: str, keep: Optional[np.ndarray],
              refresh: bool = True) -> list:
        """One encrypted block (steps 1-6 of the module docstring; step 1 skipped for fresh inputs)."""
        t0 = time.perf_counter()
        if refresh:
            x = self._trip(client, x, 'refresh')
        y = self.attention(x, blk, client, keep)
        t1 = time.perf_counter()
        self.seconds[f'{name}.attention'] += t1 - t0
        x = self._trip(client, [xi + yi for xi, yi in zip(x, y, strict=True)], 'refresh')
        if blk.act is None:
            g = self._trip(client, [xi.matmul(blk.w1.tolist()) + blk.b1.tolist() for xi in x], 'relu')
        else:  # c0 + c1 u + c2 u^2 = u * (c2 u + c1) + c0, the inner factor from a second matmul (depth 2)
            c0, c1, c2 = (float(e) for e in blk.act)
            u = [xi.matmul(blk.w1.tolist()) + blk.b1.tolist() for xi in x]
            w = [xi.matmul((blk.w1 * c2).tolist()) + (blk.b1 * c2 + c1).tolist() for xi in x]
            g = self._trip(client, [ui * wi + [c0] * len(blk.b1) for ui, wi in zip(u, w, strict=True)], 'refresh')
        x = [xi + (gi.matmul(blk.w2.tolist()) + blk.b2.tolist()) for xi, gi in zip(x, g, strict=True)]
        self.seconds[f'{name}.mlp'] += time.perf_counter() - t1
        return x

    def attention(self, x: list, blk: BlockPlan, client: Client, keep: Optional[np.ndarray]) -> list:
        """Steps 2-5 of the module docstring: token ciphertexts (level 0) -> attention outputs after proj.

        Shared by the BEiT blocks and BERT's layers (``beitmm.he.bert``); the residual is the caller's.
        """
        n, h = len(x), blk.heads
        c = blk.wv.shape[0]
        d = c // h
        q = [[xi.matmul(blk.wq[a].tolist()) + blk.bq[a].tolist() for xi in x] for a in range(h)]
        k = [[xi.matmul(blk.wk[a].tolist()) + blk.bk[a].tolist() for xi in x] for a in range(h)]
        v = [xi.matmul(blk.wv.tolist()) + blk.bv.tolist() for xi in x]
        scores = [q[a][i].dot(k[a][j]) + ([float(blk.bias[a, i, j])] if blk.bias is not None else [0.])
                  for a in range(h) for i in range(n) for j in range(n)]
        m = h * n * n
        rows = [np.arange(r * n, (r + 1) * n) for r in range(h * n)] + [m + i * c + np.arange(c) for i in range(n)]
        lo, hi = blk.softmax.input_range
        out = self._trip(client, scores + v, 'refresh', gather=rows, checks=[(0, m, lo, hi, 'softmax input', 1)])
        rows_ct, v = out[:h * n], out[h * n:]
        num = [r.polyval(list(NUMERATOR_COEFFS)) for r in rows_ct]  # (s / 2 + 1)^3
        slo, shi = blk.softmax.sum_range
        num = self._trip(client, num, 'relu', checks=[(0, m, slo, shi, 'softmax row sum', n)])
        w1, b1, w2, b2, w3, b3 = blk.rec
        keep_f = np.ones(n) if keep is None else keep.astype(np.float64)  # multiplicative mask, folded below
        sum_w1 = keep_f[:, None] * w1[None]  # [N, h]: T's layer 1 on the masked row sum sum_j keep_j n_j
        z = self._trip(client, [r.matmul(sum_w1.tolist()) + b1.tolist() for r in num], 'relu')
        z = self._trip(client, [zi.matmul(w2.tolist()) + b2.tolist() for zi in z], 'relu')
        rep_w3 = w3[:, None] * keep_f[None]  # [h, N]: T's output replicated over the N keys, 0 at masked keys
        recip = [zi.matmul(rep_w3.tolist()) + (float(b3[0]) * keep_f).tolist() for zi in z]
        attn = [r * t for r, t in zip(num, recip, strict=True)]  # [H * N] rows of N weights
        heads_of = np.repeat(np.arange(h), d)  # channel -> head
        per_pair = [(heads_of * n + i) * n + j for i in range(n) for j in range(n)]
        a = self._trip(client, attn, 'refresh', gather=per_pair)  # [N * N] vectors of C
        y = []
        for i in range(n):
            o = a[i * n] * v[0]
            for j in range(1, n):
                o = o + a[i * n + j] * v[j]
            y.append(o.matmul(blk.wp.tolist()) + blk.bp.tolist())
        return y


def open_session(context, slots: int, plan: Optional[ModelPlan] = None) -> Tuple[Client, Server]:
    """The client and the server of one protocol run.

    Args:
        context: The client's private CKKS context, or None: derived from ``CIRCUIT_DEPTH`` and ``slots``. Checked
            before anything is encrypted.
        slots: Longest vector of the circuit.
        plan: The server's folded model (None: the caller drives the server's blocks).

    Returns:
        The client (secret key) and the server (public context only).
    """
    if context is None:
        context = make_context(derive_params(CIRCUIT_DEPTH, slots))
    check_context(context, CIRCUIT_DEPTH, slots)
    client = Client(context)
    return client, Server(plan, client.public_context(), slots=slots)
