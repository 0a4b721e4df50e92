"""The ``seq2seq`` task of ``benchmark.py``: s2s-ft decoding with vs without the cache; pseudo-masked step cost.

The pseudo-masked training step is timed against a plain masked-LM step of the same source and target.

Decoding: one randomly initialised ``beitmm.Seq2SeqFinetuner`` (pseudo-masked, a language-only BEiT-3 of
``--arch``) decodes the same sources (``--batch-size`` x 64 tokens) with beam search (``--num-beams``, n-gram
blocking on) for exactly ``--tokens`` target tokens ([SEP] held back until then), cached and recomputing the
prefix each step; the outputs must be identical. Training: the pseudo-masked step packs [source; target; pseudo],
the masked-LM step [source; target] (the 'masked' algorithm); median CPU times of this process, ABBA order.
"""
import statistics
import time

import torch
from mmpretrain.structures import DataSample

SOURCE_WORDS = 60


def _model(arch: str, algorithm: str, tokens: int, num_beams: int):
    from beitmm.models.seq2seq import Seq2SeqFinetuner
    from beitmm.testing.vl import tiny_tokenizer

    from .captioning import _arch
    torch.manual_seed(0)
    model = Seq2SeqFinetuner(
        backbone=dict(type='beitmm.BEiT3', arch=_arch(arch), modalities=('language', ), vocab_size=160,
                      max_text_positions=256),
        tokenizer=tiny_tokenizer(), algorithm=algorithm, max_source_len=64, max_target_len=tokens,
        num_beams=num_beams, min_len=tokens, no_repeat_ngram_size=3, ngram_ignore_words=())
    model.init_weights()
    return model


def _samples(batch: int, tokens: int):
    words = 'a red circle left of two blue squares at the top and one green triangle'.split()
    return [DataSample(src=' '.join(words[(i + k) % len(words)] for k in range(SOURCE_WORDS)),
                       tgt=' '.join(words[(i + 2 * k) % len(words)] for k in range(tokens))) for i in range(batch)]


def _median_abba(fns: dict, repeats: int) -> dict:
    times = {name: [] for name in fns}
    for r in range(max(repeats, 1)):
        for name in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
            t0 = time.process_time()
            fns[name]()
            times[name].append(time.process_time() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def run_seq2seq(args) -> None:
    """Print cached vs uncached decoding (with ``ratio``) and the pseudo-masked / masked-LM training step ratio."""
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args) -> None:
    model = _model(args.arch, 'pseudo-masked', args.tokens, args.num_beams).eval()
    samples = _samples(args.batch_size, args.tokens)
    sources = model._tokenize(samples, with_target=False)[0]
    outs = {}

    def decode(cached: bool):
        with torch.inference_mode():
            outs[cached] = model.generate(sources, use_cache=cached)

    med = _median_abba({'cached': lambda: decode(True), 'recompute': lambda: decode(False)}, args.repeats)
    same = torch.equal(outs[True].tokens, outs[False].tokens)
    if not same:
        raise AssertionError('cached and recomputed s2s-ft decoding disagree')
    print(f'\ns2s-ft decoding: arch={args.arch} (width {model.backbone.embed_dims}, {model.backbone.num_layers} '
          f'layers) batch={args.batch_size} source={len(sources[0])} tokens beams={args.num_beams} '
          f'target={args.tokens} tokens threads={torch.get_num_threads()}')
    print(f'  cached (kv cache)    {med["cached"]:8.3f} s CPU')
    print(f'  recompute prefix     {med["recompute"]:8.3f} s CPU')
    print(f'ratio recompute / cached: {med["recompute"] / med["cached"]:.1f}x speed-up of the cached decoding at '
          f'{args.tokens} target tokens; identical outputs: yes')
    train = {name: _model(args.arch, alg, args.tokens, 1).train() for name, alg in (('pseudo-masked', 'pseudo-masked'),
                                                                                     ('masked LM', 'masked'))}

    def step(name: str):
        loss = train[name](data_samples=samples, mode='loss')['loss']
        loss.backward()

    med = _median_abba({name: (lambda n=name: step(n)) for name in train}, args.repeats)
    print(f'  training step, pseudo-masked [S; T; P]  {med["pseudo-masked"]:8.3f} s CPU')
    print(f'  training step, masked LM [S; T]         {med["masked LM"]:8.3f} s CPU')
    print(f'ratio pseudo-masked / masked-LM step: {med["pseudo-masked"] / med["masked LM"]:.2f}x')
