"""See what a BEiT pretraining run learned: one PNG per image, reconstructions and attention.

Each PNG shows the mask, dVAE reconstructions and the cls-token self-attention of a block.

    python tools/visualization/visualize_mim.py CONFIG CHECKPOINT --images a.jpg b.jpg --out DIR \
        [--decoder-checkpoint pretrain/dall_e/decoder.pkl] [--encoder-checkpoint pretrain/dall_e/encoder.pkl] \
        [--layer -1] [--full-crop] [--device cpu] [--seed 0] [--cfg-options k=v ...]

Each image goes through the config's own train pipeline, minus colour jitter and flip: the
two-view random-resized crop and the mask generator (seeded with --seed, per image). Panels:
the crop, the mask over it, the student's input, the dVAE decoding of the tokenizer's ids, the
decoding with the model's predicted ids at the masked patches (top-1 accuracy there in the
title), then the cls query's attention over the patches, mean over heads and per head (colours
stretched per map; the probability range is in each title).
Pretraining configs build the tokenizer without its decoder: give the dVAE decoder weights
(DALL-E ``decoder.pkl``) with --decoder-checkpoint; without them only the reconstruction panels
are left out.
"""
import argparse
import os
import os.path as osp
import random
import runpy
import textwrap
from typing import List, Optional, Tuple

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate

from beitmm.apis import init_model
from beitmm.visualization import (
    cls_attention_maps,
    mask_overlay,
    mim_reconstruction,
    mim_view_pipeline,
    to_image,
    upsample_grid,
)

COLS = 5


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The parsed options.
    """
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='pretraining config')
    p.add_argument('checkpoint', help='pretraining checkpoint')
    p.add_argument('--images', nargs='+', required=True, help='image files')
    p.add_argument('--out', required=True, help='output folder for the PNGs')
    p.add_argument('--decoder-checkpoint', help='dVAE decoder weights (DALL-E decoder.pkl)')
    p.add_argument('--encoder-checkpoint', help="dVAE encoder weights, replacing the config's path")
    p.add_argument('--layer', type=int, default=-1, help='block whose attention is drawn (-1 = last)')
    p.add_argument('--full-crop', action='store_true', help='crop the whole image (scale 1) instead of a random part')
    p.add_argument('--device', default='cpu')
    p.add_argument('--seed', type=int, default=0, help='seed of the crop and the mask (reset for every image)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    return p.parse_args(argv)


def prepare_tokenizer_cfg(cfg: Config, encoder_checkpoint: Optional[str]) -> Optional[str]:
    """Point the target generator at usable encoder weights (edits ``cfg`` in place).

    A missing local encoder file is dropped from the config (so the model still builds) and
    reported; the checkpoint supplies the tokenizer when the config saves it with the model.

    Args:
        cfg: Pretraining config.
        encoder_checkpoint: Encoder weights replacing the config's path, or None.

    Returns:
        Why token reconstructions are impossible, or None when the tokenizer has weights.
    """
    tg = cfg.model.get('target_generator')
    if tg is not None and str(tg.get('type', '')).endswith('KMeansTokenizer'):
        return None if tg.get('checkpoint') else 'the k-means tokenizer has no codebook file (checkpoint=)'
    if tg is None or not str(tg.get('type', '')).endswith('DALLETokenizer'):
        return 'the model does not predict DALL-E tokens (no dVAE to decode them)'
    if encoder_checkpoint is not None:
        tg.encoder_checkpoint = encoder_checkpoint
    enc = tg.get('encoder_checkpoint')
    if enc is not None and not enc.startswith(('http://', 'https://')) and not osp.exists(enc):
        tg.encoder_checkpoint = None
        return f'the tokenizer encoder weights {enc} were not found (pass --encoder-checkpoint)'
    if enc is None and not cfg.model.get('save_target_generator', False):
        return 'the tokenizer has no encoder weights (pass --encoder-checkpoint)'
    return None


def build_decoder(model: torch.nn.Module, cfg: Config, decoder_checkpoint: Optional[str]) -> Tuple:
    """The tokenizer to decode token ids with.

    Args:
        model: The built MIM model (its own tokenizer decodes when the config gives it a decoder).
        cfg: Its config; the decoder is built with the architecture of ``model.target_generator``.
        decoder_checkpoint: dVAE decoder weights, or None.

    Returns:
        (tokenizer with a decoder, None) or (None, why there is none).
    """
    tg = cfg.model.target_generator
    if str(tg.get('type', '')).endswith('KMeansTokenizer'):  # draws its centroids, no decoder weights needed
        return model.target_generator, None
    if decoder_checkpoint is None:
        if tg.get('with_decoder') and tg.get('decoder_checkpoint'):
            return model.target_generator, None
        return None, 'no dVAE decoder weights (pass --decoder-checkpoint, e.g. DALL-E decoder.pkl)'
    from beitmm.registry import MODELS
    dec = MODELS.build(dict(tg, encoder_checkpoint=None, decoder_checkpoint=decoder_checkpoint, with_decoder=True))
    return dec.to(next(model.parameters()).device), None


def _show(ax, img: np.ndarray, title: str) -> None:
    ax.imshow(img)
    ax.set_title(title, fontsize=8)


def draw(path: str, title: str, crop: np.ndarray, mask: np.ndarray, attn: np.ndarray,
         recon: Optional[dict], missing: Optional[str]) -> None:
    """Write the figure of one image.

    Args:
        path: Output PNG.
        title: Figure title.
        crop: Student view [H, W, 3] uint8 RGB.
        mask: Bool patch mask [Hp, Wp].
        attn: cls attention [heads, Hp, Wp].
        recon: Output of ``mim_reconstruction`` for this image (numpy), or None.
        missing: Why ``recon`` is None.
    """
    heads = attn.shape[0]
    rows = 1 + -(-(heads + 1) // COLS)
    fig, axes = plt.subplots(rows, COLS, figsize=(2.3 * COLS, 2.6 * rows), squeeze=False, layout='constrained')
    _show(axes[0, 0], crop, 'crop')
    _show(axes[0, 1], mask_overlay(crop, mask, alpha=0.6), f'mask ({int(mask.sum())}/{mask.size} patches)')
    _show(axes[0, 2], mask_overlay(crop, mask, alpha=1.0), 'student input')
    if recon is not None:
        _show(axes[0, 3], recon['recon_original'], 'decoded tokenizer ids')
        _show(axes[0, 4], recon['recon_predicted'],
              f"decoded, predicted at mask\n(top-1 {100 * recon['accuracy']:.0f}% of masked)")
        size = recon['recon_predicted'].shape[:2]
        axes[0, 4].contour(upsample_grid(mask.astype(np.float32), size), levels=[0.5], colors='cyan',
                           linewidths=0.7)
    else:
        axes[0, 3].text(0.5, 0.5, 'no reconstruction:\n' + textwrap.fill(missing or '', 26), ha='center',
                        va='center', fontsize=7, transform=axes[0, 3].transAxes, wrap=True)
    maps = [('cls attention: mean of heads', attn.mean(0))] + [(f'head {h}', attn[h]) for h in range(heads)]
    for i, (name, m) in enumerate(maps):
        ax = axes[1 + i // COLS, i % COLS]
        ax.imshow(crop)
        lo, hi = float(m.min()), float(m.max())  # contrast stretched per map; the range is in the title
        ax.imshow(upsample_grid((m - lo) / max(hi - lo, 1e-12), crop.shape[:2]), cmap='inferno', alpha=0.65,
                  vmin=0, vmax=1)
        ax.set_title(f'{name}\n(p {lo:.2g} to {hi:.2g})', fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.images and not ax.texts:
            ax.axis('off')
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    missing = prepare_tokenizer_cfg(cfg, args.encoder_checkpoint)
    model = init_model(cfg, args.checkpoint, device=args.device)
    decoder = None
    if missing is None:
        decoder, missing = build_decoder(model, cfg, args.decoder_checkpoint)
    if missing:
        print(f'reconstruction panels left out: {missing}')
    pipeline = mim_view_pipeline(cfg, args.full_crop)
    to_rgb = getattr(model.data_preprocessor, 'to_rgb', True)
    os.makedirs(args.out, exist_ok=True)
    written, names = [], set()
    for path in args.images:
        random.seed(args.seed)
        np.random.seed(args.seed)
        torch.manual_seed(args.seed)
        packed = pipeline(dict(img_path=path))
        data = model.data_preprocessor(pseudo_collate([packed]), False)
        student, tok_view = data['inputs'][0], data['inputs'][-1]  # [1, 3, H, W], [1, 3, h, w]
        mask = data['data_samples'][0].mask.bool()[None]  # [1, Hp, Wp]
        attn = cls_attention_maps(model.backbone, student, args.layer)[0].cpu().numpy()  # [heads, Hp, Wp]
        recon = None
        if decoder is not None:
            out = mim_reconstruction(model, student, tok_view, mask, decoder)
            recon = dict(recon_original=to_image(out['recon_original'][0]),
                         recon_predicted=to_image(out['recon_predicted'][0]), accuracy=float(out['accuracy'][0]))
        crop = packed['inputs'][0].permute(1, 2, 0).numpy()  # [H, W, 3] as loaded (BGR)
        crop = np.ascontiguousarray(crop[..., ::-1] if to_rgb else crop)
        stem = osp.splitext(osp.basename(path))[0]
        name = stem if stem not in names else f'{stem}_{len(written)}'
        names.add(name)
        target = osp.join(args.out, f'{name}.png')
        depth = len(model.backbone.blocks)
        title = (f'{osp.basename(path)} | {osp.basename(args.checkpoint)} | '
                 f'attention of block {args.layer % depth + 1} of {depth}')
        draw(target, title, crop, mask[0].cpu().numpy(), attn, recon, missing)
        written.append(target)
        print(f'wrote {target}')
    return written


if __name__ == '__main__':
    main()
