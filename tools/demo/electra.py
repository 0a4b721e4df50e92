"""The ELECTRA demo (``python tools/demo.py --task electra``): plain vs hardness-aware sampling vs focal loss.

Text: the generated scenes' captions (``make_demo_data.py --only vl``) pretrain a tiny ELECTRA
(configs/demo/electra-tiny_demo_pretrain.py) three ways at the same budget: plain sampling, hardness-aware sampling and
the focal generator loss (γ = 1); each discriminator is then fine-tuned as a ``beitmm.TextClassifier``
(configs/demo/bert-tiny_demo_text-cls.py) on a property of the scene, the colour of its first shape (left / top;
4 classes, chance 25%), read from one caption, next to the same classifier from scratch. Images: the generated
shapes images (``--only imagenet``) pretrain a tiny CIM-RevDet (configs/demo/cim-revdet_beit-tiny_demo_pretrain.py)
the same three ways (configs/cim/*hardness* / *focal* settings), then each enhancer initialises the tiny BEiT
classifier.
Reported per setting and seed: the correct-resample rate and the discriminator's accuracy (mean of the last 5
logged steps), and the downstream accuracy; the curves PNG (tools/analysis_tools/plot_electra_curves.py, a stage).
``--electra-text real`` replaces the generated-caption text part by real text: pretraining on gensim's Lee news
sentences, downstream real movie-review polarity (tools/demo/electra_real.py); the CIM part is the same.
"""
import argparse
import json
import os
import os.path as osp
import sys
from functools import partial
from typing import Dict, List, Sequence, Tuple

from .electra_real import POLARITY_CHANCE, run_real_text
from .progress import LogRecord
from .stages import config_value, load_text, rel, run_parallel, run_stage, say, train_stage

TEXT_CFG = 'configs/demo/electra-tiny_demo_pretrain.py'
CLS_CFG = 'configs/demo/bert-tiny_demo_text-cls.py'
CIM_CFG = 'configs/demo/cim-revdet_beit-tiny_demo_pretrain.py'
IMG_CLS_CFG = 'configs/demo/beit-tiny_demo-cim-pt_cls.py'
SETTINGS = {'plain': [], 'hardness': ['model.sampler.mode=hardness'], 'focal': ['model.generator_loss.gamma=1.0']}
CIM_SETTINGS = {'plain': [], 'hardness': ['model.sampler.mode=hardness'],
                'focal': ['model.generator_head.loss.type=beitmm.FocalMLMLoss', 'model.generator_head.loss.gamma=1.0']}


def add_electra_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the ELECTRA demo."""
    group.add_argument('--electra-text', choices=['generated', 'real'], default='generated',
                       help='text part: generated captions (default) or real text (gensim Lee news corpus, then '
                            'real movie-review polarity; needs requirements/realdata.txt)')
    group.add_argument('--electra-images', type=int, default=300, help='generated scenes for the text part')
    group.add_argument('--electra-iters', type=int, default=None,
                       help='text pretraining iterations (config: 300)')
    group.add_argument('--electra-cls-iters', type=int, default=None,
                       help='text classification iterations (default: 120 generated, config 150 real)')
    group.add_argument('--electra-seeds', type=int, nargs='+', default=[0], help='seeds (default 0)')
    group.add_argument('--electra-settings', nargs='+', choices=list(SETTINGS), default=list(SETTINGS),
                       help='text pretraining settings (default: all three)')
    group.add_argument('--electra-cim-epochs', type=int, default=2, help='CIM pretraining epochs (0: no CIM part)')
    group.add_argument('--electra-cim-cls-epochs', type=int, default=3, help='image classification epochs')


def first_colour(shapes: List[dict]) -> str:
    """The label: the colour of the scene's first shape (its leftmost / top one)."""
    return shapes[0]['color']


def write_text_task(vl_root: str, out: str) -> Dict[str, int]:
    """Write corpus.source (train captions) and cls_{train,val}.jsonl (one caption per image, first colour)."""
    with open(osp.join(vl_root, 'coco', 'dataset_coco.json'), encoding='utf-8') as f:
        images = json.load(f)['images']
    with open(osp.join(vl_root, 'scenes.json'), encoding='utf-8') as f:
        scenes = json.load(f)
    corpus, cls = [], {'train': [], 'val': []}
    classes = sorted({first_colour(s) for s in scenes.values()})
    for im in images:
        shapes = scenes[f"coco/{im['filepath']}/{im['filename']}"]
        split = 'train' if im['split'] in ('train', 'restval') else 'val'
        if split == 'train':
            corpus += [s['raw'].lower() for s in im['sentences']]
        cls[split].append(dict(text=im['sentences'][0]['raw'].lower(), label=first_colour(shapes)))
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'corpus.source'), 'w', encoding='utf-8') as f:
        f.write(''.join(t + '\n' for t in corpus))
    for split, rows in cls.items():
        with open(osp.join(out, f'cls_{split}.jsonl'), 'w', encoding='utf-8') as f:
            f.write(json.dumps(dict(classes=classes)) + '\n' + ''.join(json.dumps(r) + '\n' for r in rows))
    return dict(corpus=len(corpus), train=len(cls['train']), val=len(cls['val']), classes=len(classes))


def final_stats(records: Sequence[LogRecord], keys: Sequence[str] = ('resample_correct', 'disc_acc',
                                                                     'disc_acc_replaced'),
                last: int = 5) -> Dict[str, float]:
    """Mean of the last ``last`` logged training values of each key (the run's log lines, as in its scalars.json).

    Args:
        records: The parsed log lines of a training stage.
        keys: Logged quantities.
        last: Logging intervals averaged.

    Returns:
        ``{key: mean}`` for the keys the run logged.
    """
    stats = {}
    for key in keys:
        values = [r.values[key] for r in records if r.mode == 'train' and key in r.values][-last:]
        if values:
            stats[key] = sum(values) / len(values)
    return stats


def plot_curves(args: argparse.Namespace, runs: Sequence[Tuple[str, str]], png: str, title: str) -> str:
    """Draw the runs' curves with tools/analysis_tools/plot_electra_curves.py, as a stage.

    Args:
        args: Parsed demo options.
        runs: (label, work dir) pairs.
        png: Where the figure goes.
        title: Figure title.

    Returns:
        ``png``.
    """
    run_stage(f'curves {osp.basename(png)}', [sys.executable, 'tools/analysis_tools/plot_electra_curves.py',
                                               *[f'{label}={work}' for label, work in runs], '--out', png,
                                               '--smooth', '3', '--title', title],
              osp.splitext(png)[0] + '.log', threads=args.threads)
    return png


def run_electra(args: argparse.Namespace) -> None:
    """Data, vocabulary, the text and CIM comparisons, the table and the curves.

    Args:
        args: Parsed demo options.
    """
    out = osp.join(args.out, 'electra')
    os.makedirs(out, exist_ok=True)
    say(f'electra task: load average {load_text()} on {os.cpu_count()} cores; logs in {rel(out)}')
    real = args.electra_text == 'real'
    rows, runs, prefix = run_real_text(args, out) if real else run_generated_text(args, out)
    cim_rows = run_cim(args, out) if args.electra_cim_epochs > 0 else {}
    say('5/5 curves')
    title = 'text ELECTRA on real news sentences (Lee corpus)' if real else 'text ELECTRA on the scene captions'
    png = plot_curves(args, [(f'{n} s{s}', osp.join(out, f'{prefix}{n}_s{s}')) for n, s in runs],
                      osp.join(out, f'{prefix}electra_curves.png'), title)
    if cim_rows:
        plot_curves(args, [(f'{n} s{s}', osp.join(out, f'cim_{n}_s{s}')) for n, s in cim_rows if n != 'scratch'],
                    osp.join(out, 'cim_curves.png'), 'CIM-RevDet on the shapes images')
    print_table(rows, cim_rows, out, png, real)


def run_generated_text(args: argparse.Namespace, out: str) -> Tuple[Dict, List[Tuple[str, int]], str]:
    """The generated-caption text part: data, vocabulary, pretraining three ways, classification.

    Args:
        args: Parsed demo options.
        out: The demo's output folder.

    Returns:
        The table rows, the pretraining runs ``[(setting, seed)]`` and their work-dir prefix ('').
    """
    py, data = sys.executable, osp.join(args.data, 'electra')
    say('1/5 data: generated scenes -> captions (pretraining) and "caption -> colour of the first shape"')
    run_stage('electra scenes', [py, 'tools/misc/make_demo_data.py', '--out', args.data, '--only', 'vl',
                                 '--vl-train', str(args.electra_images), '--vl-val',
                                 str(max(args.electra_images // 3, 20)), '--overwrite'],
              osp.join(out, 'data.log'), threads=args.threads)
    sizes = write_text_task(osp.join(args.data, 'vl'), data)
    vocab = osp.join(data, 'vocab.txt')
    run_stage('electra vocabulary', [py, 'tools/misc/train_text_tokenizer.py', 'wordpiece',
                                     osp.join(data, 'corpus.source'), '--out', vocab, '--vocab-size', '400'],
              osp.join(out, 'vocab.log'), threads=args.threads)
    say(f'   {sizes["corpus"]} captions; classification {sizes["train"]} train / {sizes["val"]} val, '
        f'{sizes["classes"]} classes')
    iters = args.electra_iters or config_value(TEXT_CFG, 'train_cfg.max_iters')
    tok = [f'model.tokenizer.vocab_file={vocab}']
    runs = [(name, seed) for seed in args.electra_seeds for name in args.electra_settings]
    say(f'2/5 ELECTRA pretraining, {iters} iterations each: {", ".join(args.electra_settings)} x seeds '
        f'{args.electra_seeds}')
    pre = pretrain_runs(args, runs, TEXT_CFG, (out, '', 'electra'),
                        [*tok, f'train_dataloader.dataset.data_root={data}', f'train_cfg.max_iters={iters}',
                         f'param_scheduler.1.end={iters}', f'default_hooks.checkpoint.interval={iters}'])
    say('3/5 text classification from each discriminator and from scratch, same budget')
    ci = args.electra_cls_iters or 120  # the demo's choice (the config's 200 is for a standalone run)
    cls_opts = [*tok, f'train_cfg.max_iters={ci}', f'train_cfg.val_interval={ci}', f'param_scheduler.1.end={ci}',
                f'default_hooks.checkpoint.interval={ci}',
                *[f'{k}.dataset.data_root={data}' for k in ('train_dataloader', 'val_dataloader')]]
    rows = downstream_rows(args, runs, pre, CLS_CFG, (out, 'cls', 'text-cls'), cls_opts, 'accuracy/top1')
    return rows, runs, ''


def pretrain_runs(args: argparse.Namespace, runs: List[Tuple[str, int]], cfg: str, where: Tuple[str, str, str],
                  opts: List[str]) -> List[Dict]:
    """Pretrain ``cfg`` once per (setting, seed) of ``runs`` (``SETTINGS``' options, the seed), no evaluation.

    Args:
        args: Demo options (``jobs``).
        runs: ``[(setting, seed)]``.
        cfg: The pretraining config.
        where: (output folder, work-dir prefix, stage label).
        opts: ``--cfg-options`` of every run.

    Returns:
        The stage results, in the order of ``runs``.
    """
    out, prefix, label = where
    return run_parallel([partial(train_stage, args, f'{label} {n} s{s}', cfg, osp.join(out, f'{prefix}{n}_s{s}'),
                                 [*opts, f'randomness.seed={s}', *SETTINGS[n]], evaluate=False)
                         for n, s in runs], args.jobs)


def downstream_rows(args: argparse.Namespace, runs: List[Tuple[str, int]], pre: List[Dict], cfg: str,
                    where: Tuple[str, str, str], opts: List[str], metric: str) -> Dict:
    """Fine-tune classifier ``cfg`` from each pretrained discriminator and from scratch, at the same budget.

    Args:
        args: Demo options (``electra_seeds``, ``jobs``).
        runs: The pretraining runs ``[(setting, seed)]``.
        pre: Their stage results (``checkpoint``, ``records``, ``seconds``).
        cfg: The classifier config.
        where: (output folder, work-dir prefix, stage label).
        opts: ``--cfg-options`` of every fine-tuning run.
        metric: The downstream metric's key.

    Returns:
        ``{(setting, seed): dict(pretraining statistics, seconds, downstream)}``, scratch rows included.
    """
    out, prefix, label = where
    jobs = [(n, s, r['checkpoint']) for (n, s), r in zip(runs, pre, strict=True)]
    jobs += [('scratch', s, None) for s in args.electra_seeds]
    cls = run_parallel([partial(train_stage, args, f'{label} {n} s{s}', cfg, osp.join(out, f'{prefix}_{n}_s{s}'),
                                [*opts, f'randomness.seed={s}'] + ([f'load_from={c}'] if c else []))
                        for n, s, c in jobs], args.jobs)
    rows = {}
    for (n, s), r in zip(runs, pre, strict=True):
        rows[(n, s)] = dict(final_stats(r['records']), seconds=r['seconds'])
    for (n, s, _), r in zip(jobs, cls, strict=True):
        rows.setdefault((n, s), {})['downstream'] = r.get(metric, float('nan'))
    return rows


def run_cim(args: argparse.Namespace, out: str) -> Dict:
    """CIM-RevDet pretraining three ways on the demo images, then image classification from each enhancer."""
    py = sys.executable
    say('4/5 CIM-RevDet on the shapes images: plain / hardness-aware / focal, then classification')
    run_stage('electra images', [py, 'tools/misc/make_demo_data.py', '--out', args.data, '--only', 'imagenet',
                                 '--overwrite'], osp.join(out, 'images.log'), threads=args.threads)
    imagenet = osp.join(args.data, 'imagenet')
    ep, cep = args.electra_cim_epochs, args.electra_cim_cls_epochs
    runs = [(n, s) for s in args.electra_seeds for n in CIM_SETTINGS]
    pre = run_parallel([partial(train_stage, args, f'cim {n} s{s}', CIM_CFG, osp.join(out, f'cim_{n}_s{s}'),
                                [f'train_dataloader.dataset.data_root={imagenet}', f'randomness.seed={s}',
                                 f'train_cfg.max_epochs={ep}', f'param_scheduler.1.end={ep}',
                                 f'default_hooks.checkpoint.interval={ep}', 'train_dataloader.num_workers=0',
                                 'train_dataloader.persistent_workers=False', *CIM_SETTINGS[n]],
                                max_epochs=ep, evaluate=False) for n, s in runs], args.jobs)
    opts = [f'{k}.dataset.data_root={imagenet}' for k in ('train_dataloader', 'val_dataloader')]
    opts += [f'train_cfg.max_epochs={cep}', f'train_cfg.val_interval={cep}', f'param_scheduler.1.end={cep}',
             f'default_hooks.checkpoint.interval={cep}', 'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
             'val_dataloader.persistent_workers=False']
    cls = run_parallel([partial(train_stage, args, f'img-cls {n} s{s}', IMG_CLS_CFG,
                                osp.join(out, f'imgcls_{n}_s{s}'),
                                [*opts, f'randomness.seed={s}',
                                 f'model.backbone.init_cfg.checkpoint={r["checkpoint"]}'],
                                max_epochs=cep) for (n, s), r in zip(runs, pre, strict=True)], args.jobs)
    rows = {}
    for (n, s), p, c in zip(runs, pre, cls, strict=True):
        rows[(n, s)] = dict(final_stats(p['records'], ('resample_correct', 'revdet_acc', 'revdet_acc_replaced')),
                            downstream=c.get('accuracy/top1', float('nan')), seconds=p['seconds'])
    return rows


def print_table(rows: Dict, cim_rows: Dict, out: str, png: str, real: bool = False) -> None:
    """The comparison table (console and results.json; ``real_results.json`` for the real-text part).

    Args:
        rows: Text rows ``{(setting, seed): stats}``.
        cim_rows: CIM rows.
        out: Output folder.
        png: The text curves.
        real: Whether the text part is the real one (part 'real', a chance row, downstream polarity accuracy).
    """
    print('\n  ELECTRA demo: same budget per setting; rates / accuracies are the mean of the last 5 logged steps')
    if real:
        print('  real: pretraining on gensim Lee news sentences (D acc on them), downstream = polarity test accuracy '
              '(%, 40 real movie-review sentences)')
    print(f'  {"part":6s} {"setting":9s} {"seed":>4s} {"correct-resample":>16s} {"D acc":>7s} {"D acc repl.":>11s} '
          f'{"downstream acc":>14s}')

    def cell(v, width):
        return f'{"-" if v is None else f"{v:.3f}":>{width}s}'

    text = {**rows, ('chance', None): dict(downstream=POLARITY_CHANCE)} if real else rows  # chance: no seed
    for part, table, dkey in (('real' if real else 'text', text, 'disc_acc'), ('CIM', cim_rows, 'revdet_acc')):
        for (n, s), r in table.items():
            seed = '-' if s is None else str(s)
            print(f'  {part:6s} {n:9s} {seed:>4s} {cell(r.get("resample_correct"), 16)} {cell(r.get(dkey), 7)} '
                  f'{cell(r.get(dkey + "_replaced"), 11)} {r.get("downstream", float("nan")):14.1f}')
    print(f'  curves: {png}')
    with open(osp.join(out, 'real_results.json' if real else 'results.json'), 'w') as f:
        json.dump(dict(text={f'{n}_s{s}': r for (n, s), r in rows.items()},
                       cim={f'{n}_s{s}': r for (n, s), r in cim_rows.items()}), f, indent=2)
