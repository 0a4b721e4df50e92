"""The ``retrieval`` task of ``benchmark.py``: retrieval evaluation cost against the number of images and captions.

A ``beitmm.DualEncoderRetriever`` (BEiT-3, random weights) is evaluated as mmpretrain's ``RetrievalValLoop`` does:
``mode='tensor'`` on batches of test items (one image with its captions each), then ``predict_all``, at two dataset
sizes (``--sizes``, images; 5 captions each, as COCO). Counted are the backbone forward passes (images + captions
must equal N + M: every image and caption encoded once, never N x M pairs) and the CPU time of this process; the
time per encoded item should stay about constant between the sizes (linear growth).
"""
import time
from typing import List

import torch
from mmpretrain.structures import DataSample

CAPTIONS = 5


def _model(arch: str, img_size: int):
    from beitmm.models.multimodal import DualEncoderRetriever
    from beitmm.testing.vl import tiny_tokenizer

    from .captioning import _arch
    torch.manual_seed(0)
    model = DualEncoderRetriever(
        backbone=dict(type='beitmm.BEiT3', arch=_arch(arch), img_size=img_size, vocab_size=160,
                      max_text_positions=66),
        tokenizer=tiny_tokenizer(), max_text_len=24)
    model.init_weights()
    return model.eval()


def evaluate(model, num_images: int, batch_size: int, img_size: int) -> dict:
    """One retrieval evaluation of ``num_images`` images and ``5 * num_images`` captions; counts and CPU time."""
    calls = {'image': 0, 'text': 0}
    backbone_forward = model.backbone.forward

    def counting(image=None, text=None, **kwargs):
        calls['image'] += 0 if image is None else image.shape[0]
        calls['text'] += 0 if text is None else text.shape[0]
        return backbone_forward(image=image, text=text, **kwargs)

    model.backbone.forward = counting
    gen = torch.Generator().manual_seed(0)
    start = time.process_time()
    feats: List[dict] = []
    samples: List[DataSample] = []
    with torch.no_grad():
        for b in range(0, num_images, batch_size):
            n = min(batch_size, num_images - b)
            items = [DataSample(text=[f'a red circle number {i} {k}' for k in range(CAPTIONS)],
                                gt_text_id=[i * CAPTIONS + k for k in range(CAPTIONS)], gt_image_id=[i] * CAPTIONS,
                                image_id=i)
                     for i in range(b, b + n)]
            feats.append(model(torch.randn(n, 3, img_size, img_size, generator=gen), items, mode='tensor'))
            samples += items
        merged = {k: torch.cat([f[k] for f in feats]) for k in feats[0]}
        i2t, t2i = model.predict_all(merged, samples, num_images, num_images * CAPTIONS)
    seconds = time.process_time() - start
    model.backbone.forward = backbone_forward
    assert len(i2t) == num_images and len(t2i) == num_images * CAPTIONS
    return dict(images=num_images, texts=num_images * CAPTIONS, seconds=seconds, **calls)


def run_retrieval(args) -> None:
    """Evaluate at each of ``args.sizes`` and print forwards and CPU time per encoded item."""
    torch.set_num_threads(args.threads)
    model = _model(args.arch, args.img_size)
    print(f'retrieval evaluation: arch={args.arch} img={args.img_size} captions/image={CAPTIONS} '
          f'batch={args.batch_size} threads={args.threads}')
    rows = [evaluate(model, n, args.batch_size, args.img_size) for n in args.sizes]
    for r in rows:
        items = r['images'] + r['texts']
        print(f"  N={r['images']:5d} images + M={r['texts']:5d} captions: image forwards {r['image']}, text "
              f"forwards {r['text']} (N + M = {items}; N x M = {r['images'] * r['texts']}), CPU {r['seconds']:.2f} s, "
              f"{1000 * r['seconds'] / items:.2f} ms per item")
        if (r['image'], r['text']) != (r['images'], r['texts']):
            raise SystemExit('retrieval evaluation did not encode every image and caption exactly once')
    a, b = rows[0], rows[-1]
    growth = (b['seconds'] / a['seconds']) / ((b['images'] + b['texts']) / (a['images'] + a['texts']))
    print(f'  time ratio / size ratio = {growth:.2f} (1.00: linear in images + captions)')
