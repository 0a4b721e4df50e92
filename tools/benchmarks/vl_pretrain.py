"""The ``vl-pretrain`` task of ``benchmark.py``: one BEiT-3 masked-data-modeling training step, and its tokenizer share.

There is no reference implementation of BEiT-3 pretraining to compare with (no official code exists), so this task
times beitmm alone: one step = zero_grad + the forward of the three streams (``--batch-size`` images, texts and
image-text pairs, 40% / 15% / 50% + 40% masked) + backward + AdamW, on ``beitmm.MaskedDataModeling`` with a
``beitmm.BEiT3`` of ``--arch`` and the VQ-KD tokenizer of BEiT v2 (ViT-B/16 encoder, 8192 x 32 codebook; random
weights, the cost is the same). It prints the median step time over ``--repeats`` steps, images + texts per second
and the share of the step spent in the tokenizer (which runs in ``torch.inference_mode``).
"""
import statistics
import time
from typing import Dict

import torch

from beitmm.models.backbones.beit3 import ARCH_ZOO
from beitmm.registry import MODELS

TEXT_LEN, VOCAB = 64, 64010


def _arch(name: str) -> Dict[str, int]:
    from .tasks import ARCHS
    arch = dict(ARCH_ZOO[name]) if name in ARCH_ZOO else dict(ARCHS[name])
    return {k: arch[k] for k in ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')}


def build(arch: Dict[str, int], img: int, tokenizer_arch='base') -> torch.nn.Module:
    """``MaskedDataModeling`` of BEiT-3 ``arch`` with a VQ-KD tokenizer of ``tokenizer_arch`` (random weights)."""
    vit = dict(type='beitmm.BEiT', arch=tokenizer_arch, img_size=img, patch_size=16, out_type='raw',
               layer_scale_init_value=0., use_abs_pos_emb=True, use_rel_pos_bias=False)
    cfg = dict(type='beitmm.MaskedDataModeling',
               backbone=dict(type='beitmm.BEiT3', arch=arch, img_size=img, vocab_size=VOCAB, use_mask_token=True),
               target_generator=dict(type='beitmm.VQKD', as_tokenizer=True, encoder=vit, num_codes=8192, code_dim=32,
                                     kmeans_init=False),
               mim_head=dict(type='beitmm.MIMHead', in_channels=arch['embed_dims'], out_channels=8192))
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(n: int, img: int, seed: int = 0) -> Dict[str, dict]:
    """A collated three-stream batch of ``n`` samples per stream in the loader's format."""
    from beitmm.datasets.transforms.masking import BlockwiseMaskGenerator
    g = torch.Generator().manual_seed(seed)
    grid = img // 16
    masks = BlockwiseMaskGenerator(input_size=grid, num_masking_patches=round(0.4 * grid * grid), min_num_patches=16)
    mask = torch.stack([torch.as_tensor(masks(dict())['mask']) for _ in range(n)]).bool()
    ids = torch.randint(3, 64000, (n, TEXT_LEN), generator=g)
    pad = torch.zeros(n, TEXT_LEN, dtype=torch.bool)
    pad[::2, -TEXT_LEN // 4:] = True

    def text(ratio: float) -> dict:
        chosen = (torch.rand(n, TEXT_LEN, generator=g) < ratio) & ~pad
        chosen[:, 1] = True
        return dict(text_ids=ids, padding_mask=pad, masked_text_ids=ids.masked_fill(chosen, 64000),
                    mlm_labels=ids.masked_fill(~chosen, -100))
    image = dict(img=torch.randint(0, 256, (n, 3, img, img), dtype=torch.uint8, generator=g), mask=mask)
    return dict(image=image, text=text(0.15), pair=dict(image, **text(0.5)))


def run_vl_pretrain(args) -> None:
    """Time the MDM step and the tokenizer inside it; print the figures."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arch = _arch(args.arch)
    tokenizer_arch = dict(arch) if args.arch.startswith('tiny') else 'base'  # tests: a tokenizer as small as the model
    model = build(arch, args.img_size, tokenizer_arch).to(args.device).train()
    data = model.data_preprocessor(batch(args.batch_size, args.img_size), True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    spent = []
    targets = model.targets

    def timed_targets(view):
        t0 = time.perf_counter()
        out = targets(view)
        spent.append(time.perf_counter() - t0)
        return out
    model.targets = timed_targets
    steps = []
    for i in range(args.warmup + args.repeats):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        losses = model(**data)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        opt.step()
        if i >= args.warmup:
            steps.append(time.perf_counter() - t0)
    tok = spent[args.warmup:]
    step, tok_t = statistics.median(steps), statistics.median(tok)
    n = args.batch_size
    print(f'\nBEiT-3 masked data modeling, arch {args.arch}, {args.img_size} px, {TEXT_LEN} text tokens, '
          f'{n} images + {n} texts + {n} pairs per step, {args.device}, {args.threads} thread(s), fp32')
    print(f'  step (median of {args.repeats}): {step * 1000:.0f} ms; samples/s {3 * n / step:.2f} '
          f'(images + texts: {4 * n / step:.2f}/s counting each pair as one image and one text)')
    tok_name = 'ViT-B/16' if tokenizer_arch == 'base' else f'{args.arch} ViT'
    print(f'  VQ-KD tokenizer ({tok_name}, inference mode, {2 * n} images): {tok_t * 1000:.0f} ms = '
          f'{100 * tok_t / step:.1f}% of the step')
    print('  last losses: ' + ', '.join(f'{k} {float(v):.2f}' for k, v in losses.items() if k.startswith('loss')))
