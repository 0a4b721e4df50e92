"""Convert a trained beitmm classifier into its THE-X (HE-friendly) form.

    python tools/the_x/convert.py CONFIG CHECKPOINT --out converted.pth [--cfg-options k=v ...]

CONFIG is a THE-X distillation config (configs/the_x/*distill*.py: ``model.teacher`` is the original model,
``model.the_x`` the replacements) or any model config with a top-level ``the_x`` dict. Every weight but the
LayerNorms' (now learned affine maps, to be distilled) is kept; the tool checks it and prints the counts. A module
the converter does not know stops it with an error naming the module.
"""
import argparse
import os.path as osp
import runpy

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from mmengine.config import Config, DictAction

from beitmm.models.the_x.checkpoints import convert_from_config


def main(argv=None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None, help='trained original model (default: untrained)')
    parser.add_argument('--out', required=True, help='converted state dict (.pth)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, report = convert_from_config(cfg, args.checkpoint, args.out)
    print(f'kept {len(report["kept"])} weights unchanged, replaced {len(report["replaced"])} LayerNorm entries by '
          f'affine maps, added {len(report["added"])} (softmax reciprocal networks) -> {args.out}')
    print(f'the_x: {model.the_x_cfg}')


if __name__ == '__main__':
    main()
