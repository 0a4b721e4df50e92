"""The ``captioning`` task of ``benchmark.py``: BEiT-3 beam search with the key / value cache vs without.

Both decode the same images with the same randomly initialised BEiT-3 + ``mlm_head`` (official vocabulary of
64010) and the same beam search (unilm's: 3 beams, length penalty 0.6); the uncached decoder recomputes the whole
prefix (image and caption so far) at every step, the cached one feeds ``[previous token, MASK]``. EOS is held
back until ``--tokens`` tokens are generated, so both run exactly that many steps. The generated captions must be
identical (else the tool fails). Each runs ``--repeats`` times, alternating (ABBA); the median CPU time of this
process (``time.process_time``: other processes on a shared machine do not count) and the ratio are printed.
"""
import statistics
import time
from typing import Dict

import torch

from beitmm.models.backbones import BEiT3
from beitmm.models.backbones.beit3 import ARCH_ZOO
from beitmm.models.generation import MaskPredictDecoder, SearchConfig, beam_search

VOCAB, BOS, EOS, MASK = 64010, 0, 2, 64000  # beit3.spm ids: <s>, </s>, <mask>


def _arch(name: str) -> Dict[str, int]:
    from .tasks import ARCHS
    arch = dict(ARCH_ZOO[name]) if name in ARCH_ZOO else dict(ARCHS[name])
    return {k: arch[k] for k in ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')}


def _image_tokens(backbone: BEiT3, images: torch.Tensor) -> int:
    return 1 + (images.shape[-2] // backbone.patch_size) * (images.shape[-1] // backbone.patch_size)


def _decoder(backbone: BEiT3, head: torch.nn.Module, images: torch.Tensor, use_cache: bool) -> MaskPredictDecoder:
    def run(rows, with_prefix, ids, positions, attn_mask, kv_cache):
        out = backbone(image=images[rows] if with_prefix else None, text=ids, text_positions=positions,
                       attn_mask=attn_mask, kv_cache=kv_cache)[-1]
        return out[:, -ids.shape[1]:]
    return MaskPredictDecoder(run, head, MASK, _image_tokens(backbone, images), images.shape[0], backbone.num_layers,
                              use_cache=use_cache)


def run_captioning(args) -> None:
    """Time cached vs uncached beam search and print both, the ratio and the output check.

    Args:
        args: ``benchmark.py`` arguments (``arch``, ``batch_size``, ``img_size``, ``repeats``, ``warmup``,
            ``device``, ``tokens``, ``num_beams``, ``threads``).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        _run(args)
    finally:
        torch.set_num_threads(threads)  # the caller's setting (tests call main() in-process)


def _run(args) -> None:
    torch.manual_seed(0)
    backbone = BEiT3(arch=_arch(args.arch), img_size=args.img_size, vocab_size=VOCAB).to(args.device).eval()
    head = torch.nn.Linear(backbone.embed_dims, VOCAB).to(args.device)
    images = torch.randn(args.batch_size, 3, args.img_size, args.img_size, device=args.device)
    start = torch.full((args.batch_size, 1), BOS, device=args.device)
    cfg = SearchConfig(max_len=1 + args.tokens, eos_id=EOS, num_beams=args.num_beams, length_penalty=0.6,
                       min_len=args.tokens, final_token='eos')
    outs, times = {}, {'cached (kv cache)': [], 'recompute prefix': []}

    def decode(name: str):
        with torch.inference_mode():
            return beam_search(_decoder(backbone, head, images, name.startswith('cached')), start, cfg)

    for name in times:
        for _ in range(args.warmup):
            decode(name)
    for r in range(max(args.repeats, 1)):
        for name in (list(times) if r % 2 == 0 else list(times)[::-1]):
            t0 = time.process_time()
            outs[name] = decode(name)
            times[name].append(time.process_time() - t0)
    cached, full = outs.values()
    if not (torch.equal(cached.tokens, full.tokens) and torch.equal(cached.lengths, full.lengths)):
        raise AssertionError(f'cached and recomputed beam search disagree:\n{cached.tokens}\n{full.tokens}')
    median = {n: statistics.median(t) for n, t in times.items()}
    print(f'\ncaptioning beam search: arch={args.arch} (width {backbone.embed_dims}, {backbone.num_layers} layers) '
          f'batch={args.batch_size} beams={args.num_beams} img={args.img_size} ({_image_tokens(backbone, images)} '
          f'image tokens) tokens={args.tokens} device={args.device} threads={torch.get_num_threads()}')
    for name, t in times.items():
        print(f'  {name:20s} {median[name]:8.3f} s CPU  (all: {" ".join(f"{x:.3f}" for x in t)})')
    score_diff = (cached.scores - full.scores).abs().max().item()
    print(f'ratio recompute / cached: {median["recompute prefix"] / median["cached (kv cache)"]:.1f}x speed-up of '
          f'the cached beam search at {args.tokens} tokens; identical outputs: yes (max |score diff| {score_diff:.1e})')
