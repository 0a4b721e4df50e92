"""Export a beitmm classifier, segmentor or retrieval model to ONNX and check it with onnxruntime.

python tools/deployment/export_onnx.py CONFIG CHECKPOINT [--out FILE] [--shape H [W]] [--part image|text|both]
    [--opset N] [--dynamic-batch] [--exporter auto|dynamo|torchscript] [--no-check] [--cfg-options k=v ...]

Graphs (beitmm.deploy.onnx_export), with inputs normalised as the config's data preprocessor does (the mean / std
are in the file's metadata):

- mmpretrain ImageClassifier (configs/beit*/..._in1k.py, ...): image -> class logits;
- mmseg EncoderDecoder (UperNet / linear heads): image -> per-pixel logits at --shape (whole-image inference);
- beitmm.DualEncoderRetriever (BEiT-3 / VLMo retrieval): two files, ``*_image.onnx`` (image -> L2-normalised
  embeddings) and ``*_text.onnx`` (token ids + padding mask -> L2-normalised embeddings); --part picks one.

--out defaults to ``<checkpoint folder>/<config name>.onnx``. --shape defaults to the backbone's img_size; another
size rebuilds the backbone at that size, its position tables resized at load by beitmm's converter (the resize the
model otherwise applies at run time, which both exporters fail to trace), so the graph holds fixed tables. With
--check (default) onnxruntime (CPU) runs each file on a fresh random image / tokenized example texts and the max abs
difference to PyTorch is printed; the tool fails above --tolerance (default 1e-4).
"""
import argparse
import os
import os.path as osp
import runpy
import sys
from typing import Dict, List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: Parsed arguments.
    """
    p = argparse.ArgumentParser(description='Export a beitmm model to ONNX and compare onnxruntime with PyTorch')
    p.add_argument('config', help='beitmm config of the model')
    p.add_argument('checkpoint', help='checkpoint (any layout beitmm reads)')
    p.add_argument('--out', help='output .onnx file (retrieval: _image / _text are added before .onnx)')
    p.add_argument('--shape', type=int, nargs='+', metavar='H [W]', help='image size (default: backbone img_size)')
    p.add_argument('--part', choices=('image', 'text', 'both'), default='both',
                   help='retrieval models: which encoder(s) (default both)')
    p.add_argument('--text-len', type=int, help="retrieval: tokens per text (default the model's max_text_len)")
    p.add_argument('--opset', type=int, default=18, help='ONNX opset (default 18)')
    p.add_argument('--dynamic-batch', action='store_true', help='free batch dimension (default: batch 1)')
    p.add_argument('--exporter', choices=('auto', 'dynamo', 'torchscript'), default='auto',
                   help='auto: torch.export-based exporter, TorchScript when that fails (default)')
    p.add_argument('--check', action=argparse.BooleanOptionalAction, default=True,
                   help='compare onnxruntime CPU with PyTorch (default: on)')
    p.add_argument('--tolerance', type=float, default=1e-4, help='--check fails above this max abs difference')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, key=value')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow checkpoints that need arbitrary unpickling (only for files you trust)')
    args = p.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        p.error(f'--shape takes H or H W, got {args.shape}')
    return args


def _paths(args: argparse.Namespace, names: List[str]) -> Dict[str, str]:
    stem = osp.splitext(osp.basename(args.config))[0]
    out = args.out or osp.join(osp.dirname(osp.abspath(args.checkpoint)), f'{stem}.onnx')
    if names in (['classifier'], ['segmentor']):
        return {names[0]: out}
    base = out[:-5] if out.endswith('.onnx') else out
    return {n: f'{base}_{n}.onnx' for n in names}


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    """Export (and check) every part of the model.

    Args:
        argv: Arguments; ``sys.argv[1:]`` when None.

    Returns:
        ``{part: {'path', 'exporter', 'max_abs_diff' (when checked)}}``.
    """
    args = parse_args(argv)
    if args.trust_checkpoint:
        os.environ['BEITMM_TRUST_CHECKPOINT'] = '1'
    from mmengine.model import revert_sync_batchnorm

    from beitmm.apis import init_model
    from beitmm.deploy.onnx_export import UnsupportedModelError, check_part, export_part, export_parts
    options = dict(args.cfg_options or {})
    if args.shape:  # position tables resized at load (the resize beitmm applies at run time): a static graph
        options['model.backbone.img_size'] = (args.shape[0], args.shape[-1])
    try:
        model = revert_sync_batchnorm(init_model(args.config, args.checkpoint, cfg_options=options)).eval()
    except ValueError as err:  # e.g. a --shape that is no multiple of the patch size
        sys.exit(f'{args.config}: {err}')
    shape, patch = list(model.backbone.img_size), model.backbone.patch_size
    if shape[0] % patch or shape[-1] % patch:
        sys.exit(f'{args.config}: --shape {shape} is not a multiple of the patch size {patch}')
    try:
        parts = export_parts(model, shape, args.part, args.text_len)
    except UnsupportedModelError as err:
        sys.exit(f'{args.config}: {err}')
    paths, results = _paths(args, [p.name for p in parts]), {}
    for part in parts:
        for key, value in (('beitmm_config', osp.basename(args.config)), ('beitmm_shape', f'{shape[0]}x{shape[-1]}')):
            part.metadata[key] = value
        used = export_part(part, paths[part.name], args.opset, args.dynamic_batch, args.exporter)
        results[part.name] = dict(path=paths[part.name], exporter=used)
        line = f'[{part.name}] wrote {paths[part.name]} ({used} exporter, opset {args.opset})'
        if args.check:
            diff = check_part(part, paths[part.name], batch=3 if args.dynamic_batch else 1)
            results[part.name]['max_abs_diff'] = diff
            line += f'; onnxruntime CPU vs PyTorch: max abs diff {diff:.2e}'
        print(line)
    failed = [n for n, r in results.items() if r.get('max_abs_diff', 0.) > args.tolerance]
    if failed:
        sys.exit(f'check failed for {", ".join(failed)}: max abs diff above {args.tolerance}')
    return results


if __name__ == '__main__':
    main()
