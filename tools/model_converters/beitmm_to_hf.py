"""Write a beitmm BEiT classifier or UperNet segmentor as a transformers 4.57 folder.

python tools/model_converters/beitmm_to_hf.py CONFIG CHECKPOINT OUT_DIR [--no-check] [--cfg-options k=v ...]

OUT_DIR gets ``config.json`` (``BeitConfig``; ``id2label`` from the dataset's classes where known),
``model.safetensors`` and ``preprocessor_config.json``, loadable offline with
``transformers.BeitForImageClassification.from_pretrained(OUT_DIR)`` (classifiers) or
``BeitForSemanticSegmentation.from_pretrained(OUT_DIR)`` (segmentors). With ``--check`` (default) the folder is
loaded back with transformers and its logits compared with beitmm's on a random image; the tool fails above a
relative difference of 1e-4.

Exportable (beitmm.deploy.hf_config; others are refused with the reasons):

- classifiers: mmpretrain ImageClassifier + beitmm.BEiT (mean pooling or cls token) + LinearClsHead: every
  classifier of configs/beit and configs/beitv2, configs/demo/beit-tiny_demo_cls.py;
- segmentors: mmseg EncoderDecoder + beitmm.BEiT (4 distinct out_indices, square img_size) + Feature2Pyramid
  [4, 2, 1, 0.5] + UPerHead / FastUPerHead with channels = the backbone width + an optional FCN auxiliary head on
  level 2: every UperNet config of configs/beit and configs/beitv2.
  Not: linear heads (configs/demo/linear_beit-tiny_demo_seg.py), BEiT-3 backbones, other head widths
  (configs/demo/upernet_beit-tiny_demo_seg.py: 64 channels on a 96-wide backbone).

Segmentors that read the last block (all shipped UperNet configs) get one identity layer appended in the HF
model (HF names FPN inputs by hidden-state index and cannot name the last block otherwise); outputs are unchanged.
"""
import argparse
import os
import os.path as osp
import runpy
import sys
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from mmengine.config import DictAction

REL_TOL = 1e-4  # --check: max |HF - beitmm| / max(1, max |beitmm|) above this fails (a choice; float32 rounding ~1e-6)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: Parsed arguments.
    """
    p = argparse.ArgumentParser(description='Write a beitmm BEiT classifier / UperNet segmentor as a '
                                'transformers BeitForImageClassification / BeitForSemanticSegmentation folder')
    p.add_argument('config', help='beitmm config of the model')
    p.add_argument('checkpoint', help='checkpoint (any layout beitmm reads)')
    p.add_argument('out_dir', help='output folder')
    p.add_argument('--check', action=argparse.BooleanOptionalAction, default=True,
                   help='load the folder with transformers and compare logits (default: on)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow checkpoints that need arbitrary unpickling (only for files you trust)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Write the folder (and check it).

    Args:
        argv: Arguments; ``sys.argv[1:]`` when None.

    Returns:
        The summary of :func:`beitmm.deploy.hf_export.write_hf_folder`, plus ``check`` when checked.
    """
    args = parse_args(argv)
    if args.trust_checkpoint:
        os.environ['BEITMM_TRUST_CHECKPOINT'] = '1'
    from mmengine.model import revert_sync_batchnorm

    from beitmm.apis import init_model
    from beitmm.deploy.hf_config import NotExportableError
    from beitmm.deploy.hf_export import compare_with_transformers, dataset_classes, write_hf_folder
    model = revert_sync_batchnorm(init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)).eval()
    try:
        summary = write_hf_folder(model, args.out_dir, dataset_classes(model))
    except NotExportableError as err:
        sys.exit(f'{args.config}: {err}')
    print(f'wrote {summary["class"]} to {args.out_dir}: ' + ', '.join(osp.basename(f) for f in summary['files']))
    if summary['identity_layer']:
        n = summary['config'].num_hidden_layers
        print(f'note: layer {n - 1} of the HF model is an appended identity layer (lambda_1 = lambda_2 = 0), so '
              f'that HF out_indices {summary["config"].out_indices} can name the last block')
    if summary['bgr_model']:
        print('note: the config feeds BGR images to the model; HF image processors give RGB, so flip the channels '
              'before calling the HF model')
    if args.check:
        check = compare_with_transformers(model, args.out_dir)
        summary['check'] = check
        rel = check['max_abs_diff'] / max(1.0, check['max_abs_ref'])
        print(f'check: max |transformers - beitmm| = {check["max_abs_diff"]:.3e} (logits up to '
              f'{check["max_abs_ref"]:.3g})')
        if rel > REL_TOL:
            sys.exit(f'check failed: relative difference {rel:.2e} > {REL_TOL}')
    return summary


if __name__ == '__main__':
    main()
