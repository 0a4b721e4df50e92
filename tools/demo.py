"""`make demo`: BEiT-pretrain a tiny model on unlabeled images, then fine-tune classification, linear-head
segmentation (3 seeds) and UperNet segmentation from that checkpoint and from scratch on the same budget, and
print both.

    python tools/demo.py [--out demo_out] [--data data/demo] [--pretrain-epochs 20] [--cls-epochs 10]
                         [--seg-iters 600]

Every stage is a plain `tools/train.py` / `tools/test.py` run of a config in configs/demo/; the pretraining
checkpoint initialises the three downstream configs as it is (no conversion). Writes demo_out/predictions.png
(classifier and segmentor outputs) and demo_out/mim/*.png (masks, tokens, cls attention of the pretrained model).
"""
import os.path as _osp
import sys as _sys

_sys.path.append(_osp.dirname(_osp.abspath(__file__)))  # tools/
import _bootstrap  # noqa: E402,F401  (re-runs this tool with .venv/bin/python where needed)
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRE_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_pretrain.py')
CLS_CFG = osp.join(ROOT, 'configs/demo/beit-tiny_demo_cls.py')
SEG_CFG = osp.join(ROOT, 'configs/demo/upernet_beit-tiny_demo_seg.py')
LIN_CFG = osp.join(ROOT, 'configs/demo/linear_beit-tiny_demo_seg.py')
LIN_SEEDS = (0, 1, 2)


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


def train_and_test(py: str, cfg: str, work: str, opts: list, log_prefix: str) -> dict:
    """Train a config, test its last checkpoint; returns the metrics and the checkpoint path."""
    run([py, 'tools/train.py', cfg, '--work-dir', work, '--cfg-options', *opts], log_prefix + '_train.log')
    ckpt = last_checkpoint(work)
    out = log_prefix + '_metrics.json'
    test_opts = [o for o in opts if not o.startswith(('load_from=', 'train_cfg.', 'param_scheduler.'))]
    run([py, 'tools/test.py', cfg, ckpt, '--work-dir', work, '--out', out, '--cfg-options', *test_opts],
        log_prefix + '_test.log')
    with open(out) as f:
        return dict(json.load(f), checkpoint=ckpt)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=osp.join(ROOT, 'demo_out'))
    p.add_argument('--data', default=osp.join(ROOT, 'data/demo'))
    p.add_argument('--pretrain-epochs', type=int, default=None, help='override the demo config (default 20)')
    p.add_argument('--cls-epochs', type=int, default=None, help='override the demo config (default 10)')
    p.add_argument('--seg-iters', type=int, default=None, help='override the demo config (default 600)')
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable
    t_start = time.time()

    print('[demo] 1/7 generating data: 2000 unlabeled images, 100 labeled per class, 200 + 100 ADE20K-layout '
          'scenes', flush=True)
    # regenerated each run in seconds; only folders that carry the generator's marker are ever replaced
    run([py, 'tools/misc/make_demo_data.py', '--out', args.data, '--train-per-class', '100', '--val-per-class', '50',
         '--ade-val', '100', '--unlabeled', '2000', '--overwrite'], osp.join(args.out, 'data.log'))
    cls_opts = [f'{k}.dataset.data_root={args.data}/imagenet'
                for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    seg_root = f'{args.data}/ade/ADEChallengeData2016'
    seg_opts = [f'{k}.dataset.data_root={seg_root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]

    print('[demo] 2/7 fitting the visual vocabulary: k-means of 8x8 patches, 256 tokens', flush=True)
    vocab = osp.join(args.data, 'kmeans_256.pth')
    run([py, 'tools/misc/fit_kmeans_tokenizer.py', f'{args.data}/unlabeled', vocab, '--patch-size', '8',
         '--vocab-size', '256', '--view-size', '64'], osp.join(args.out, 'vocab.log'))

    print('[demo] 3/7 BEiT pretraining on the unlabeled images (configs/demo/beit-tiny_demo_pretrain.py)',
          flush=True)
    pre_dir = osp.join(args.out, 'pretrain')
    extra = [f'train_cfg.max_epochs={args.pretrain_epochs}',
             f'param_scheduler.1.end={args.pretrain_epochs}'] if args.pretrain_epochs else []
    run([py, 'tools/train.py', PRE_CFG, '--work-dir', pre_dir, '--cfg-options',
         f'train_dataloader.dataset.data_root={args.data}/unlabeled', f'model.target_generator.checkpoint={vocab}',
         *extra], osp.join(args.out, 'pretrain.log'))
    pre_ckpt = last_checkpoint(pre_dir)

    results = {}
    print('[demo] 4/7 classification, same recipe and budget: from the pretrained checkpoint and from scratch',
          flush=True)
    extra = [f'train_cfg.max_epochs={args.cls_epochs}', f'param_scheduler.1.end={args.cls_epochs}'] \
        if args.cls_epochs else []
    for init, load in (('pretrained', [f'load_from={pre_ckpt}']), ('scratch', [])):
        results[('cls', init)] = train_and_test(py, CLS_CFG, osp.join(args.out, f'cls_{init}'),
                                                [*cls_opts, *extra, *load], osp.join(args.out, f'cls_{init}'))

    print(f'[demo] 5/7 segmentation with a linear head on the backbone (the backbone does all the work), seeds '
          f'{LIN_SEEDS}: from the pretrained checkpoint and from scratch', flush=True)
    extra = [f'train_cfg.max_iters={args.seg_iters}', f'param_scheduler.1.end={args.seg_iters}',
             f'train_cfg.val_interval={args.seg_iters}'] if args.seg_iters else []
    for init, load in (('pretrained', [f'load_from={pre_ckpt}']), ('scratch', [])):
        runs = [train_and_test(py, LIN_CFG, osp.join(args.out, f'linseg_{init}_seed{s}'),
                               [*seg_opts, *extra, *load, f'randomness.seed={s}'],
                               osp.join(args.out, f'linseg_{init}_seed{s}')) for s in LIN_SEEDS]
        results[('linseg', init)] = dict(mIoU=sum(r['mIoU'] for r in runs) / len(runs),
                                         seeds=[r['mIoU'] for r in runs])

    print('[demo] 6/7 UperNet segmentation, same recipe and budget: from the same pretrained checkpoint and '
          'from scratch', flush=True)
    for init, load in (('pretrained', [f'load_from={pre_ckpt}']), ('scratch', [])):
        results[('seg', init)] = train_and_test(py, SEG_CFG, osp.join(args.out, f'seg_{init}'),
                                                [*seg_opts, *extra, *load], osp.join(args.out, f'seg_{init}'))

    print('[demo] 7/7 drawing predictions and what pretraining learned', flush=True)
    png = osp.join(args.out, 'predictions.png')
    run([py, 'tools/analysis_tools/visualize_predictions.py', '--cls-config', CLS_CFG, '--cls-checkpoint',
         results[('cls', 'pretrained')]['checkpoint'], '--seg-config', SEG_CFG, '--seg-checkpoint',
         results[('seg', 'pretrained')]['checkpoint'], '--data', args.data, '--out', png],
        osp.join(args.out, 'visualize.log'))
    imgs = sorted(glob.glob(osp.join(args.data, 'unlabeled', '*.jpg')))[:4]
    run([py, 'tools/analysis_tools/visualize_mim.py', PRE_CFG, pre_ckpt, '--images', *imgs, '--out',
         osp.join(args.out, 'mim'), '--full-crop', '--cfg-options', f'model.target_generator.checkpoint={vocab}'],
        osp.join(args.out, 'visualize_mim.log'))

    with open(osp.join(args.data, 'imagenet/meta/classes.txt')) as f:
        n_cls = len([line for line in f if line.strip()])
    seg_ch = f'{seg_chance(args.data):.1f}'
    rows = [('classification top-1', 'cls', 'accuracy/top1', f'{100 / n_cls:.1f}'),
            (f'seg. mIoU, linear x{len(LIN_SEEDS)}', 'linseg', 'mIoU', seg_ch),
            ('seg. mIoU, UperNet', 'seg', 'mIoU', seg_ch)]
    print('\n[demo] results on the generated validation sets (same fine-tuning recipe and budget)')
    print(f'  {"":22s} {"BEiT-pretrained":>16s} {"from scratch":>13s} {"chance":>7s}')
    for name, task, key, chance in rows:
        print(f'  {name:22s} {results[(task, "pretrained")][key]:15.2f}% {results[(task, "scratch")][key]:12.2f}% '
              f'{chance:>6s}%')
    seeds = ', '.join(f'{p:.2f} vs {q:.2f}' for p, q in zip(results[('linseg', 'pretrained')]['seeds'],
                                                           results[('linseg', 'scratch')]['seeds']))
    print(f'  linear head: mean over seeds {LIN_SEEDS} ({seeds}); UperNet: seed 0 only')
    print(f'  chance: the majority class (segmentation: the most frequent class everywhere); per-class IoU in '
          f'{osp.relpath(osp.join(args.out, "seg_pretrained_metrics.json"), ROOT)}')
    print(f'  predictions          : {osp.relpath(png, ROOT)}')
    print(f'  pretraining figures  : {osp.relpath(osp.join(args.out, "mim"), ROOT)}/*.png')
    print(f'  total time           : {(time.time() - t_start) / 60:.1f} min')


if __name__ == '__main__':
    main()
