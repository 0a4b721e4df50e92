r"""Convert a BEiT-family checkpoint to beitmm's layout, offline.

Reads official microsoft/unilm, timm, HuggingFace (BEiT / Data2Vec-vision),
mmpretrain and mmseg checkpoints (bare backbones or whole models), renames
the backbone to beitmm's layout, prints what was renamed / resized /
dropped, and writes a plain state dict atomically.  Without a target model
the shared relative-position table stays shared unless ``--expand-rel-pos``
is given, and nothing is resized unless ``--window`` / ``--img-size`` is.

Example::

    python tools/model_converters/convert_beit.py \
        beit_base_patch16_224_pt22k.pth beit_base_pt22k_beitmm.pth \
        --expand-rel-pos 12 --img-size 640

Only files loadable with ``torch.load(weights_only=True)`` are accepted.
"""
import argparse
import os
import os.path as osp
import runpy
from typing import Dict, List, Optional, Tuple

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import torch

from beitmm.checkpoint import FORMATS, convert_checkpoint, unwrap_checkpoint


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: Parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Convert a BEiT-family checkpoint to beitmm layout.')
    parser.add_argument('src', help='source checkpoint (.pth / .bin)')
    parser.add_argument('dst', help='output state dict path')
    parser.add_argument('--format', default='auto',
                        choices=('auto', ) + FORMATS,
                        help='source layout (default: detect)')
    parser.add_argument('--img-size', type=int, nargs='+', default=None,
                        help='target image size H [W]; resizes position '
                        'tables to img_size // patch_size')
    parser.add_argument('--patch-size', type=int, default=16,
                        help='patch size used with --img-size (default 16)')
    parser.add_argument('--window', type=int, nargs='+', default=None,
                        help='target patch grid H [W] (overrides --img-size)')
    parser.add_argument('--src-window', type=int, nargs='+', default=None,
                        help='source patch grid H [W]; needed only for '
                        'non-square source grids')
    parser.add_argument('--expand-rel-pos', type=int, default=None,
                        metavar='DEPTH', help='copy the shared relative '
                        'position table into DEPTH per-layer tables')
    return parser.parse_args(argv)


def _grid(values: Optional[List[int]]) -> Optional[Tuple[int, int]]:
    if values is None:
        return None
    if len(values) not in (1, 2):
        raise SystemExit(f'expected H or H W, got {values}')
    return values[0], values[-1]


def load_weights(path: str) -> Dict[str, torch.Tensor]:
    """Load a checkpoint without unpickling arbitrary objects.

    Args:
        path: Checkpoint file.

    Returns:
        dict[str, Tensor]: Its flat state dict.
    """
    from beitmm.checkpoint import UnsafeCheckpointError, load_checkpoint_file
    try:  # the beitmm allow-list (official unilm files carry an argparse.Namespace) and trust switch
        obj = load_checkpoint_file(path, map_location='cpu')
    except UnsafeCheckpointError as err:
        raise SystemExit(f'{err} Refusing to convert (unpickling can run arbitrary code).') from None
    return unwrap_checkpoint(obj)


def save_atomic(state: Dict[str, torch.Tensor], path: str) -> None:
    """Write ``state`` to ``path`` via a temporary file and ``os.replace``.

    Args:
        state: State dict to save.
        path: Destination.
    """
    tmp = path + '.tmp'
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the conversion.

    Args:
        argv: Arguments; ``sys.argv[1:]`` when None.
    """
    args = parse_args(argv)
    dst_grid = _grid(args.window)
    if dst_grid is None and args.img_size is not None:
        size = _grid(args.img_size)
        dst_grid = (size[0] // args.patch_size, size[1] // args.patch_size)
    state = load_weights(args.src)
    out, report = convert_checkpoint(
        state, None if args.format == 'auto' else args.format,
        src_grid=_grid(args.src_window), dst_grid=dst_grid,
        expand_depth=args.expand_rel_pos)
    print(report.table())
    save_atomic(out, args.dst)
    print(f'saved {len(out)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
