"""Convert a BEiT-3 checkpoint to beitmm.BEiT3's layout offline (no conversion is needed to train or test).

Reads unilm's ``beit3_*.pth`` task / pretrained checkpoints (``model`` / ``module`` wrappers, ``beit3.`` prefix),
torchscale state dicts and timm's ``beit3_*`` vision branch; writes a plain state dict (atomically) whose backbone
keys are beitmm.BEiT3's, optionally with the vision position table resized to another image size and the task
heads dropped, and prints the report.

Example::

    python tools/model_converters/convert_beit3.py beit3_base_patch16_224.pth beit3_base_384.pth --img-size 384
"""
import argparse
import os.path as osp
import runpy
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from beitmm.checkpoint import load_checkpoint_file, save_checkpoint_atomic, unwrap_checkpoint
from beitmm.checkpoint.families.beit3 import resize_vision_positions, split_beit3


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        The arguments.
    """
    p = argparse.ArgumentParser(description='Convert a BEiT-3 checkpoint to beitmm.BEiT3 keys')
    p.add_argument('src', help='unilm / torchscale / timm BEiT-3 checkpoint')
    p.add_argument('dst', help='output state dict')
    p.add_argument('--img-size', type=int, nargs='+', help='resize the vision positions to this image size (H [W])')
    p.add_argument('--patch-size', type=int, default=16, help='patch size for --img-size (giant: 14)')
    p.add_argument('--drop-heads', action='store_true', help='keep the backbone only')
    p.add_argument('--prefix', default='', help="prefix of the backbone keys in the output (e.g. 'backbone.')")
    p.add_argument('--trust-checkpoint', action='store_true', help='allow pickled objects in the source file')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the conversion and print its report.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    state = unwrap_checkpoint(load_checkpoint_file(args.src, trusted=args.trust_checkpoint or None))
    backbone, heads, report = split_beit3(state)
    key = 'encoder.embed_positions.A.weight'
    if args.img_size and key in backbone:
        h, w = (args.img_size * 2)[:2]
        old = backbone[key]
        backbone[key] = resize_vision_positions(old, (h // args.patch_size, w // args.patch_size))
        report.resized.append((key, tuple(old.shape), tuple(backbone[key].shape)))
    out = {args.prefix + k: v for k, v in backbone.items()}
    if args.drop_heads:
        report.dropped += [(k, '--drop-heads') for k in heads]
    else:
        out.update(heads)
    save_checkpoint_atomic(out, args.dst)
    print(report.table())
    print(f'wrote {len(out)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
