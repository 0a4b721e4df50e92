"""The ``electra`` task of ``benchmark.py``: the cost of hardness-aware sampling and of the focal loss per step.

One training step (forward + backward) of a randomly initialised ``beitmm.ELECTRA`` is timed with plain sampling,
hardness-aware sampling (hardness head [M, V] + re-weighted draw + importance weights) and the focal generator
loss. ``--arch tiny``: 2 x 32 (vocabulary 160); any other ``--arch`` (default): ELECTRA-Small (discriminator
12 x 256, generator 12 x 64, embedding 128, vocabulary 30522). ``--batch-size`` texts cut to 128 tokens, 15%
masked. Median CPU time of this process over ``--repeats`` steps per setting, in rotating order.
"""
import statistics
import time

import torch
from mmpretrain.structures import DataSample

ARCHS = {
    'small': (dict(hidden_size=256, num_layers=12, num_heads=4, intermediate_size=1024),
              dict(hidden_size=64, num_layers=12, num_heads=1, intermediate_size=256), 128, 30522),
    'tiny': ('tiny', dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), 32, 160),
}
SETTINGS = {'plain': dict(), 'hardness': dict(sampler=dict(type='beitmm.ReplacementSampler', mode='hardness')),
            'focal': dict(generator_loss=dict(type='beitmm.FocalMLMLoss', gamma=1.0))}


def _model(arch: str, setting: str):
    from beitmm.registry import MODELS
    from beitmm.testing.vl import tiny_tokenizer
    disc, gen, emb, vocab = ARCHS[arch]
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='beitmm.ELECTRA', max_len=128, tokenizer=tiny_tokenizer('wordpiece'),
        backbone=dict(type='beitmm.BertEncoder', arch=disc, vocab_size=vocab, embedding_size=emb,
                      max_position_embeddings=128, hidden_dropout=0., attn_dropout=0.),
        generator=dict(type='beitmm.BertEncoder', arch=gen, vocab_size=vocab, embedding_size=emb,
                       max_position_embeddings=128, hidden_dropout=0., attn_dropout=0.), **SETTINGS[setting]))
    model.init_weights()
    return model


def run_electra(args) -> None:
    """Print the step time of each setting and its ratio to plain sampling."""
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        arch = args.arch if args.arch in ARCHS else 'small'
        batch = args.batch_size or 8
        words = 'a red circle left of two blue squares at the top and one green triangle'.split()
        samples = [DataSample(src=' '.join(words[(i + k) % len(words)] for k in range(100))) for i in range(batch)]
        models = {name: _model(arch, name) for name in SETTINGS}
        steps = {}
        for name, model in models.items():
            def step(model=model):
                model.zero_grad(set_to_none=True)
                losses = model(data_samples=samples, mode='loss')
                sum(v for k, v in losses.items() if k.startswith('loss')).backward()
            steps[name] = step
        times = {name: [] for name in steps}
        for _ in range(args.warmup):
            for fn in steps.values():
                fn()
        order = list(steps)
        for r in range(max(args.repeats, 1)):
            for name in order[r % len(order):] + order[:r % len(order)]:
                t0 = time.process_time()
                steps[name]()
                times[name].append(time.process_time() - t0)
        med = {name: statistics.median(t) for name, t in times.items()}
        print(f'ELECTRA training step, arch {arch}, batch {batch} x 128 tokens, {args.threads} thread(s), '
              f'median CPU s over {args.repeats}:')
        for name, t in med.items():
            print(f'  {name:9s} {t:8.3f} s   x{t / med["plain"]:.2f} of plain')
    finally:
        torch.set_num_threads(threads)
