"""Draw the self-attention maps of chosen heads and layers (the BEiT paper's "what emerges" figure).

    python tools/analysis_tools/visualize_attention.py CONFIG CHECKPOINT --images a.jpg [b.png ...] [--sample-photo] \
        [--query cls | --query X,Y ...] [--layers -1 ...] [--heads all | mean | 0 2 ...] [--img-size 224] \
        [--out-dir work_dirs/attention] [--device cpu] [--cfg-options k=v ...]

Works for BEiT and BEiT v2 (``beitmm.BEiT``), BEiT-3 (``beitmm.BEiT3``: its vision expert, image-only input) and VLMo
(``beitmm.VLMo``: the image-only path), any model of those with a ``backbone`` (classifiers, segmentors, retrieval,
VQA, ...). Each image goes through the config's test pipeline (loading and resizing as evaluated), is resized to the
backbone's ``img_size`` (or ``--img-size``) when the pipeline gives another size, and is normalised by the model's
data preprocessor. The attention probabilities are recorded by hooks on the attention modules
(``beitmm.visualization.record_attention``); the forward itself is the model's.

One PNG per image in ``--out-dir``: a row per (layer, query): the model input with the query marked, then one map per
chosen head (``--heads mean``: the mean over heads), each the query's softmax probabilities over the patch keys
overlaid on the image as a heatmap, with a colorbar in probability units. ``--query cls`` (default): the cls
token's attention (DINO's figure); ``--query X,Y``: the patch holding pixel (X, Y) of the model input (the left
panel, pixel axes), as the BEiT paper's reference points. ``--sample-photo`` adds a real photo shipped with an
installed package (scikit-image's ``chelsea.png``, else matplotlib's ``grace_hopper.jpg``).
"""
import argparse
import os
import os.path as osp
import runpy
from typing import List, Optional, Sequence, Tuple, Union

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import mmcv
import numpy as np
import torch
from matplotlib.patches import Rectangle
from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate

from beitmm.apis import init_model
from beitmm.apis.vl_inference import _load, _steps
from beitmm.visualization import attention_layers, image_attention, query_attention_maps, sample_photo

CELL_W, CELL_H, DPI = 2.6, 2.4, 100  # one panel: 260 x 240 px (a choice)
Query = Union[str, Tuple[int, int]]


def parse_query(text: str) -> Query:
    """``'cls'`` or ``'X,Y'`` -> ``'cls'`` / ``(x, y)``."""
    if text.strip().lower() == 'cls':
        return 'cls'
    parts = text.split(',')
    if len(parts) != 2 or not all(p.strip().lstrip('-').isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"--query {text!r}: give 'cls' or pixel coordinates 'X,Y' (e.g. 100,60)")
    return int(parts[0]), int(parts[1])


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The parsed options.
    """
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='model config (BEiT, BEiT v2, BEiT-3 or VLMo backbone)')
    p.add_argument('checkpoint', help='checkpoint (any layout init_model loads)')
    p.add_argument('--images', nargs='+', default=[], help='image files')
    p.add_argument('--sample-photo', action='store_true',
                   help="add a real photo (scikit-image's chelsea.png, else matplotlib's grace_hopper.jpg)")
    p.add_argument('--query', nargs='+', type=parse_query, default=['cls'],
                   help="'cls' (the cls token's attention) and / or pixel coordinates X,Y of the model input")
    p.add_argument('--layers', nargs='+', type=int, default=[-1], help='layers (0-based, negative from the end)')
    p.add_argument('--heads', nargs='+', default=['all'], help="'all', 'mean' and / or head indices")
    p.add_argument('--img-size', nargs='+', type=int, help="model input size H [W] (default: the backbone's img_size)")
    p.add_argument('--out-dir', default='work_dirs/attention', help='output folder for the PNGs')
    p.add_argument('--cmap', default='inferno', help='matplotlib colormap of the heatmaps')
    p.add_argument('--alpha', type=float, default=0.6, help='heatmap opacity over the image')
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    args = p.parse_args(argv)
    if args.sample_photo:
        args.images = list(args.images) + [sample_photo()]
    if not args.images:
        p.error('give --images and / or --sample-photo')
    return args


def head_panels(heads: Sequence[str], num_heads: int) -> List[Union[int, str]]:
    """``--heads`` values -> panel list of head indices and ``'mean'``.

    Args:
        heads: ``'all'``, ``'mean'`` and / or integers as strings.
        num_heads: Heads of the backbone.

    Returns:
        The panels in order, duplicates removed.
    """
    out: List[Union[int, str]] = []
    for h in heads:
        if h == 'all':
            items: list = list(range(num_heads))
        elif h == 'mean':
            items = ['mean']
        elif h.lstrip('-').isdigit() and -num_heads <= int(h) < num_heads:
            items = [int(h) % num_heads]
        else:
            raise ValueError(f"--heads {h!r}: 'all', 'mean' or a head index in [0, {num_heads})")
        out.extend(i for i in items if i not in out)
    return out


def load_image(model: torch.nn.Module, path: str, size: Tuple[int, int]) -> Tuple[np.ndarray, torch.Tensor]:
    """The model input of one image: RGB for display and the normalised batch.

    Args:
        model: Model from ``init_model`` (its config's test pipeline and data preprocessor are used).
        path: Image file.
        size: Model input (H, W); the pipeline's output is resized to it (bicubic) when it differs.

    Returns:
        RGB uint8 [H, W, 3] and the normalised images [1, 3, H, W] on the model's device.
    """
    img = mmcv.imread(path)  # BGR uint8; a clear error for a missing / unreadable file
    if img is None:
        raise FileNotFoundError(f'cannot read image {path}')
    packed = _load(img, _steps(model), {})
    bgr = packed['inputs'].permute(1, 2, 0).numpy()  # [H, W, 3] as loaded (BGR)
    if bgr.shape[:2] != tuple(size):
        bgr = mmcv.imresize(bgr, (size[1], size[0]), interpolation='bicubic')
        packed['inputs'] = torch.from_numpy(np.ascontiguousarray(bgr)).permute(2, 0, 1).contiguous()
    data = model.data_preprocessor(default_collate([packed]), False)
    pixels = data['images'] if 'images' in data else data['inputs']
    return np.ascontiguousarray(bgr[..., ::-1]), pixels


def draw(path: str, title: str, rgb: np.ndarray, rows: List[Tuple[str, Query, np.ndarray]],
         panels: List[Union[int, str]], patch_size: int, cmap: str = 'inferno', alpha: float = 0.6) -> Tuple[int, int]:
    """Write the attention figure of one image.

    Args:
        path: Output PNG.
        title: Figure title.
        rgb: Model input [H, W, 3] uint8.
        rows: ``(row label, query, maps [heads, Hp, Wp])`` per row.
        panels: Head indices / ``'mean'``, one map column each.
        patch_size: Patch size in pixels.
        cmap: Heatmap colormap.
        alpha: Heatmap opacity.

    Returns:
        The grid (rows, columns) drawn; the PNG is ``rows * 240`` x ``columns * 260`` pixels.
    """
    n_rows, n_cols = len(rows), 1 + len(panels)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(CELL_W * n_cols, CELL_H * n_rows), squeeze=False,
                             layout='constrained')
    H, W = rgb.shape[:2]
    for r, (label, query, maps) in enumerate(rows):
        hp, wp = maps.shape[1:]
        extent = (0, wp * patch_size, hp * patch_size, 0)  # the grid may pad past the image (bottom / right)
        ax = axes[r, 0]
        ax.imshow(rgb)
        ax.set_title(f'{label}\nquery: cls token' if query == 'cls' else f'{label}\nquery: pixel {query}', fontsize=8)
        for i, name in enumerate(panels):
            m = maps.mean(0) if name == 'mean' else maps[name]
            ax_m = axes[r, 1 + i]
            ax_m.imshow(rgb)
            im = ax_m.imshow(m, cmap=cmap, alpha=alpha, extent=extent, interpolation='nearest')
            ax_m.set_xlim(0, W)
            ax_m.set_ylim(H, 0)
            fig.colorbar(im, ax=ax_m, fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
            ax_m.set_title('mean of heads' if name == 'mean' else f'head {name}', fontsize=8)
            ax_m.set_xticks([])
            ax_m.set_yticks([])
        if query != 'cls':
            x, y = query
            box = ((x // patch_size) * patch_size, (y // patch_size) * patch_size)
            for a in axes[r]:
                a.add_patch(Rectangle(box, patch_size, patch_size, fill=False, edgecolor='cyan', linewidth=1.2))
            ax.plot([x], [y], marker='+', color='cyan', markersize=8)
        ax.set_xlim(-0.5, W - 0.5)  # keep the panel on the image (the query box may reach into the padding)
        ax.set_ylim(H - 0.5, -0.5)
        ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return n_rows, n_cols


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Run the tool.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        Paths of the written PNGs, one per image.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=args.device).eval()
    backbone = getattr(model, 'backbone', model)
    depth = len(attention_layers(backbone))  # also: a clear error for a backbone of another family
    panels = head_panels(args.heads, backbone.num_heads)
    if args.img_size and len(args.img_size) > 2:
        raise ValueError(f'--img-size takes H or H W, got {args.img_size}')
    size = tuple((args.img_size * 2)[:2]) if args.img_size else tuple(backbone.img_size)
    os.makedirs(args.out_dir, exist_ok=True)
    written, names = [], set()
    for path in args.images:
        rgb, pixels = load_image(model, path, size)
        probs, grid, has_cls = image_attention(backbone, pixels, args.layers)  # {layer: [1, heads, N, N]}
        rows = []
        for layer in sorted(probs):
            for q in args.query:
                maps = query_attention_maps(probs[layer], grid, q, backbone.patch_size, has_cls)[0]
                rows.append((f'layer {layer + 1} of {depth}', q, maps.float().cpu().numpy()))
        stem = osp.splitext(osp.basename(path))[0]
        name = stem if stem not in names else f'{stem}_{len(written)}'
        names.add(name)
        target = osp.join(args.out_dir, f'{name}_attention.png')
        title = (f'{osp.basename(path)} | {osp.basename(args.checkpoint)} | {type(backbone).__name__}, '
                 f'{size[0]}x{size[1]} px, {grid[0]}x{grid[1]} patches')
        draw(target, title, rgb, rows, panels, backbone.patch_size, args.cmap, args.alpha)
        written.append(target)
        print(f'wrote {target}')
    return written


if __name__ == '__main__':
    main()
