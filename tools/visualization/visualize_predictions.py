"""Draw a classifier's and a segmentor's predictions on validation images into one PNG.

    python tools/visualization/visualize_predictions.py --cls-config C --cls-checkpoint K \
        --seg-config C --seg-checkpoint K --data data/demo --out predictions.png [--num 6] [--seg-name NAME]

The segmentor can be any mmseg-style config (the demo's linear-head or UperNet one); the figure's title names it
(``--seg-name``, by default read from the model: "UperNet", "linear-head" or the decode head's class).
"""
import argparse
import glob
import os.path as osp
import runpy
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import mmcv
import numpy as np
from mmengine.config import DictAction

from beitmm.apis import inference_model, init_model


def palette(n: int) -> np.ndarray:
    """Distinct colours for ``n`` labels, [n, 3] uint8 (index 255 = ignore is drawn black)."""
    rng = np.random.default_rng(3)
    return rng.integers(40, 255, (n, 3), dtype=np.uint8)


def seg_model_name(model) -> str:
    """A short name of a segmentor for the figure's title.

    Args:
        model: A built mmseg-style segmentor (``decode_head`` attribute).

    Returns:
        ``'UperNet'`` for UPerHead-style heads, ``'linear-head'`` for a head without convolutions before its
        classifier, else the decode head's class name.
    """
    head = getattr(model, 'decode_head', None)
    kind = type(head).__name__
    if 'UPer' in kind:
        return 'UperNet'
    if getattr(head, 'num_convs', None) == 0 and not getattr(head, 'concat_input', False):
        return 'linear-head'
    return kind


def main(argv: Optional[List[str]] = None) -> None:
    """Draw the figure.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).
    """
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--cls-config', required=True)
    p.add_argument('--cls-checkpoint', required=True)
    p.add_argument('--seg-config', required=True)
    p.add_argument('--seg-checkpoint', required=True)
    p.add_argument('--data', required=True, help='root written by tools/misc/make_demo_data.py')
    p.add_argument('--out', required=True)
    p.add_argument('--num', type=int, default=6)
    p.add_argument('--seg-name', help='segmentor name in the title (default: read from the model)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override entries of both configs, key=value (as tools/train.py)')
    args = p.parse_args(argv)

    cls_model = init_model(args.cls_config, args.cls_checkpoint, cfg_options=args.cfg_options)
    with open(osp.join(args.data, 'imagenet/meta/val.txt')) as f:
        lines = [line.split() for line in f if line.strip()]
    with open(osp.join(args.data, 'imagenet/meta/classes.txt')) as f:
        classes = [c.strip() for c in f if c.strip()]
    step = max(1, len(lines) // args.num)
    picks = lines[::step][:args.num]
    cls_imgs = [osp.join(args.data, 'imagenet/val', rel) for rel, _ in picks]
    cls_preds = inference_model(cls_model, cls_imgs)

    seg_model = init_model(args.seg_config, args.seg_checkpoint, cfg_options=args.cfg_options)
    seg_root = osp.join(args.data, 'ade/ADEChallengeData2016')
    seg_imgs = sorted(glob.glob(osp.join(seg_root, 'images/validation/*.jpg')))[:args.num]
    seg_preds = inference_model(seg_model, seg_imgs)
    colours = palette(256)
    colours[255] = 0

    fig, axes = plt.subplots(4, args.num, figsize=(2 * args.num, 8.6))
    for j, (path, (_, label), pred) in enumerate(zip(cls_imgs, picks, cls_preds, strict=True)):
        ax = axes[0, j]
        ax.imshow(mmcv.imread(path, channel_order='rgb'))
        guess = int(pred.pred_label.item())
        ok = guess == int(label)
        ax.set_title(f'{classes[guess]}\n(true {classes[int(label)]})', fontsize=8, color='green' if ok else 'red')
    for j, (path, pred) in enumerate(zip(seg_imgs, seg_preds, strict=True)):
        ann = mmcv.imread(path.replace('images', 'annotations').replace('.jpg', '.png'), flag='unchanged')
        gt = np.where(ann == 0, 255, ann.astype(np.int64) - 1)  # reduce_zero_label as in training
        axes[1, j].imshow(mmcv.imread(path, channel_order='rgb'))
        axes[2, j].imshow(colours[gt])
        axes[3, j].imshow(colours[pred.pred_sem_seg.data[0].cpu().numpy()])
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, name in enumerate(['classification', 'scene', 'ground truth', 'prediction']):
        axes[row, 0].set_ylabel(name, fontsize=9)
    seg_name = args.seg_name or seg_model_name(seg_model)
    fig.suptitle(f'beitmm demo: one tiny BEiT backbone, classification (top) and {seg_name} segmentation')
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
