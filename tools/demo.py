"""`make demo`: generate data, train a tiny BEiT classifier, reuse its backbone for UperNet segmentation.

    python tools/demo.py [--out demo_out] [--data data/demo] [--cls-epochs 20] [--seg-iters 600]

Prints top-1 and mIoU next to chance level and writes demo_out/predictions.png.
Every stage is a plain `tools/train.py` / `tools/test.py` run of a config in configs/demo/.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLS_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_cls.py')
SEG_CFG = osp.join(ROOT, 'configs/demo/upernet_beit-tiny_demo_seg.py')


def run(cmd: list, log: str) -> None:
    """Run a tool, sending its log to a file; show the tail and stop on failure."""
    t0 = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    if proc.returncode:
        with open(log) as f:
            tail = f.readlines()[-40:]
        sys.exit(f'[demo] failed: {" ".join(cmd)}\n{"".join(tail)}\n(full log: {log})')
    print(f'[demo]   done in {time.time() - t0:.0f}s (log: {osp.relpath(log, ROOT)})', flush=True)


def seg_chance(data: str) -> float:
    """mIoU of predicting the most frequent class everywhere on the validation scenes."""
    import numpy as np
    from PIL import Image
    counts = np.zeros(256, np.int64)
    for path in glob.glob(osp.join(data, 'ade/ADEChallengeData2016/annotations/validation/*.png')):
        counts += np.bincount(np.asarray(Image.open(path)).ravel(), minlength=256)
    counts = counts[1:151]  # reduce_zero_label: raw 0 is ignored
    return 100 * counts.max() / counts.sum() / (counts > 0).sum()


def last_checkpoint(work_dir: str) -> str:
    ckpts = sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime)
    if not ckpts:
        sys.exit(f'[demo] no checkpoint in {work_dir}')
    return ckpts[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=osp.join(ROOT, 'demo_out'))
    p.add_argument('--data', default=osp.join(ROOT, 'data/demo'))
    p.add_argument('--cls-epochs', type=int, default=None, help='override the demo config (default 20)')
    p.add_argument('--seg-iters', type=int, default=None, help='override the demo config (default 300)')
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable
    t_start = time.time()

    print('[demo] 1/4 generating data (ImageNet and ADE20K layouts)', flush=True)
    # 300 training images per class: enough for a ViT to learn shapes in two minutes (regenerated each run,
    # in seconds; only folders that carry the generator's marker are ever replaced)
    run([py, 'tools/misc/make_demo_data.py', '--out', args.data, '--train-per-class', '300', '--val-per-class', '50',
         '--overwrite'], osp.join(args.out, 'data.log'))
    data_opts = [f'train_dataloader.dataset.data_root={args.data}/imagenet',
                 f'val_dataloader.dataset.data_root={args.data}/imagenet',
                 f'test_dataloader.dataset.data_root={args.data}/imagenet']
    seg_root = f'{args.data}/ade/ADEChallengeData2016'
    seg_opts = [f'{k}.dataset.data_root={seg_root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]

    print('[demo] 2/4 training a tiny BEiT classifier (configs/demo/beit-tiny_demo_cls.py)', flush=True)
    cls_dir = osp.join(args.out, 'cls')
    extra = [f'train_cfg.max_epochs={args.cls_epochs}'] if args.cls_epochs else []
    run([py, 'tools/train.py', CLS_CFG, '--work-dir', cls_dir, '--cfg-options', *data_opts, *extra],
        osp.join(args.out, 'cls_train.log'))
    cls_ckpt = last_checkpoint(cls_dir)
    cls_json = osp.join(args.out, 'cls_metrics.json')
    run([py, 'tools/test.py', CLS_CFG, cls_ckpt, '--work-dir', cls_dir, '--out', cls_json, '--cfg-options',
         *data_opts], osp.join(args.out, 'cls_test.log'))

    print('[demo] 3/4 UperNet segmentation from the classifier\'s backbone (same checkpoint, no conversion)',
          flush=True)
    seg_dir = osp.join(args.out, 'seg')
    extra = [f'train_cfg.max_iters={args.seg_iters}', f'param_scheduler.1.end={args.seg_iters}',
             f'train_cfg.val_interval={args.seg_iters}'] if args.seg_iters else []
    init = [f'load_from={cls_ckpt}']  # whole classifier checkpoint; its backbone.* keys fill the segmentor
    run([py, 'tools/train.py', SEG_CFG, '--work-dir', seg_dir, '--cfg-options', *seg_opts, *init, *extra],
        osp.join(args.out, 'seg_train.log'))
    seg_ckpt = last_checkpoint(seg_dir)
    seg_json = osp.join(args.out, 'seg_metrics.json')
    run([py, 'tools/test.py', SEG_CFG, seg_ckpt, '--work-dir', seg_dir, '--out', seg_json, '--cfg-options',
         *seg_opts], osp.join(args.out, 'seg_test.log'))

    print('[demo] 4/4 drawing predictions', flush=True)
    png = osp.join(args.out, 'predictions.png')
    run([py, 'tools/analysis_tools/visualize_predictions.py', '--cls-config', CLS_CFG, '--cls-checkpoint', cls_ckpt,
         '--seg-config', SEG_CFG, '--seg-checkpoint', seg_ckpt, '--data', args.data, '--out', png],
        osp.join(args.out, 'visualize.log'))

    with open(cls_json) as f:
        top1 = json.load(f)['accuracy/top1']
    with open(seg_json) as f:
        miou = json.load(f)['mIoU']
    with open(osp.join(args.data, 'imagenet/meta/classes.txt')) as f:
        n_cls = len([line for line in f if line.strip()])
    print('\n[demo] results on the generated validation sets')
    print(f'  classification top-1 : {top1:6.2f} %   (chance {100 / n_cls:.1f} %)')
    print(f'  segmentation mIoU    : {miou:6.2f} %   (chance {seg_chance(args.data):.1f} %: the most frequent class '
          f'everywhere; per-class IoU in {osp.relpath(seg_json, ROOT)})')
    print(f'  predictions          : {osp.relpath(png, ROOT)}')
    print(f'  total time           : {(time.time() - t_start) / 60:.1f} min')


if __name__ == '__main__':
    main()
