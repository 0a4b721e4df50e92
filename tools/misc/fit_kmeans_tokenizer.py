"""Fit a k-means visual vocabulary (``beitmm.KMeansTokenizer``) on a folder of images.

    python tools/misc/fit_kmeans_tokenizer.py IMG_DIR OUT.pth --patch-size 8 --vocab-size 256 \
        --view-size 64 [--pool 4] [--crops-per-image 2] [--max-images 2000] [--iters 20]

Each image gives random square crops resized to the tokenizer view (scale 0.3-1, as the two-view
pretraining crop); all their patches are clustered. The file loads with
``target_generator=dict(type='beitmm.KMeansTokenizer', checkpoint=OUT.pth, ...)``.
"""
import argparse
import os.path as osp
import runpy
import time
from typing import Iterator, List

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import numpy as np
import torch
from PIL import Image

from beitmm.checkpoint import save_checkpoint_atomic
from beitmm.datasets.unlabeled import list_images
from beitmm.models.tokenizers.kmeans import KMeansTokenizer


def random_crops(paths: List[str], size: int, per_image: int, seed: int, batch: int = 64) -> Iterator[torch.Tensor]:
    """Yield batches [B, 3, size, size] in [0, 1] of random resized square crops."""
    rng = np.random.default_rng(seed)
    buf = []
    for path in paths:
        img = Image.open(path).convert('RGB')
        w, h = img.size
        for _ in range(per_image):
            side = int(min(w, h) * np.sqrt(rng.uniform(0.3, 1.0)))
            x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            crop = img.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.LANCZOS)
            buf.append(torch.from_numpy(np.asarray(crop, np.float32) / 255).permute(2, 0, 1))
            if len(buf) == batch:
                yield torch.stack(buf)
                buf = []
    if buf:
        yield torch.stack(buf)


def main() -> None:
    """Fit the vocabulary on the images of the command line and save it as a checkpoint."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('img_dir')
    p.add_argument('out')
    p.add_argument('--patch-size', type=int, default=16, help='tokenizer-view pixels per token')
    p.add_argument('--vocab-size', type=int, default=512)
    p.add_argument('--view-size', type=int, default=224, help='side of the tokenizer view in pixels')
    p.add_argument('--pool', type=int, default=4)
    p.add_argument('--no-normalize', dest='normalize', action='store_false',
                   help='cluster raw pooled pixels (colour kept) instead of contrast-normalised patches')
    p.add_argument('--crops-per-image', type=int, default=2)
    p.add_argument('--max-images', type=int, default=2000)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    if not osp.isdir(args.img_dir):
        raise SystemExit(f"image folder '{args.img_dir}' does not exist")
    paths = list_images(args.img_dir)
    if not paths:
        raise SystemExit(f"no images under '{args.img_dir}'")
    rng = np.random.default_rng(args.seed)
    paths = [osp.join(args.img_dir, q) if not osp.isabs(q) else q for q in paths]
    paths = [paths[i] for i in sorted(rng.permutation(len(paths))[:args.max_images])]
    t0 = time.time()
    tok = KMeansTokenizer(args.patch_size, args.vocab_size, args.pool, normalize=args.normalize)
    counts = tok.fit(random_crops(paths, args.view_size, args.crops_per_image, args.seed), args.iters, args.seed)
    stats = tok.usage(counts)
    save_checkpoint_atomic(dict(state_dict=dict(codebook=tok.codebook.clone()),
                                meta=dict(patch_size=args.patch_size, vocab_size=args.vocab_size, pool=args.pool,
                                          normalize=args.normalize,
                                          num_images=len(paths), used=stats['used'],
                                          perplexity=stats['perplexity'])), args.out)
    print(f'fitted {args.vocab_size} centroids on {int(counts.sum())} patches of {len(paths)} images in '
          f'{time.time() - t0:.1f}s: {stats["used"]} codes used, perplexity {stats["perplexity"]:.1f} -> {args.out}')


if __name__ == '__main__':
    main()
