"""The seq2seq demo (``python tools/demo.py --task seq2seq``): s2s-ft's three algorithms from one pretrained encoder.

Stages (``tools/train.py`` / ``tools/test.py`` runs, logs in demo_out/s2s/*.log): the generated scenes
(``make_demo_data.py --only vl``) give a task, a scene description -> its shapes sorted (``"a blue square right of a
red circle."`` -> ``"blue square , red circle"``), written as line-aligned ``.source`` / ``.target`` files; a
WordPiece vocabulary and a tiny BERT pretrained by masked language modeling on the texts
(configs/demo/bert-tiny_demo_mlm.py); then pseudo-masked, masked and causal fine-tuning from that checkpoint
(configs/demo/bert-tiny_demo_s2s.py, the same budget), each decoded on the test split with beam search; ROUGE / BLEU
printed next to the copy-the-source baseline.
"""
import argparse
import json
import os
import os.path as osp
import sys
from functools import partial
from typing import Dict, List, Tuple

from .stages import config_value, load_text, rel, run_parallel, run_stage, say, train_stage

MLM_CFG = 'configs/demo/bert-tiny_demo_mlm.py'
S2S_CFG = 'configs/demo/bert-tiny_demo_s2s.py'
ALGORITHMS = ('pseudo-masked', 'masked', 'causal')
KEYS = ('s2s/rouge1', 's2s/rouge2', 's2s/rougeL', 's2s/bleu4')


def add_seq2seq_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the seq2seq demo."""
    group.add_argument('--s2s-images', type=int, default=300, help='generated scenes for the task (default 300)')
    group.add_argument('--s2s-iters', type=int, default=None, help='fine-tuning iterations (config: 500)')


def inventory(shapes: List[dict]) -> str:
    """The target: the scene's shapes as "colour kind", sorted, comma-separated."""
    return ' , '.join(sorted(f"{s['color']} {s['kind']}" for s in shapes))


def write_task(vl_root: str, out: str) -> Dict[str, int]:
    """Write {train,val,test}.source / .target and corpus.source from the generated Karpathy captions and scenes."""
    with open(osp.join(vl_root, 'coco', 'dataset_coco.json'), encoding='utf-8') as f:
        images = json.load(f)['images']
    with open(osp.join(vl_root, 'scenes.json'), encoding='utf-8') as f:
        scenes = json.load(f)
    splits: Dict[str, List[Tuple[str, str]]] = {'train': [], 'val': [], 'test': []}
    for im in images:
        split = 'train' if im['split'] in ('train', 'restval') else im['split']
        target = inventory(scenes[f"coco/{im['filepath']}/{im['filename']}"])
        sentences = im['sentences'] if split == 'train' else im['sentences'][:1]
        splits[split] += [(s['raw'].lower(), target) for s in sentences]
    os.makedirs(out, exist_ok=True)
    for split, pairs in splits.items():
        for suffix, k in (('source', 0), ('target', 1)):
            with open(osp.join(out, f'{split}.{suffix}'), 'w', encoding='utf-8') as f:
                f.write(''.join(p[k] + '\n' for p in pairs))
    with open(osp.join(out, 'corpus.source'), 'w', encoding='utf-8') as f:  # MLM texts: sources and targets
        f.write(''.join(f'{s}\n{t}\n' for s, t in splits['train']))
    return {k: len(v) for k, v in splits.items()}


def run_seq2seq(args: argparse.Namespace) -> None:
    """Data, vocabulary, MLM pretraining, the three fine-tunings and the table.

    Args:
        args: Parsed demo options.
    """
    out, py = osp.join(args.out, 's2s'), sys.executable
    data = osp.join(args.data, 's2s')
    os.makedirs(out, exist_ok=True)
    say(f'seq2seq task: load average {load_text()} on {os.cpu_count()} cores; logs in {rel(out)}')
    say('1/4 data: generated scenes -> "description -> sorted shapes" pairs; a WordPiece vocabulary')
    run_stage('s2s scenes', [py, 'tools/misc/make_demo_data.py', '--out', args.data, '--only', 'vl',
                             '--vl-train', str(args.s2s_images), '--vl-val', str(max(args.s2s_images // 4, 20)),
                             '--overwrite'], osp.join(out, 'data.log'), threads=args.threads)
    sizes = write_task(osp.join(args.data, 'vl'), data)
    vocab = osp.join(data, 'vocab.txt')
    run_stage('s2s vocabulary', [py, 'tools/misc/train_text_tokenizer.py', 'wordpiece',
                                 osp.join(data, 'corpus.source'), '--out', vocab, '--vocab-size', '400'],
              osp.join(out, 'vocab.log'), threads=args.threads)
    say(f'   {sizes["train"]} train / {sizes["val"]} val / {sizes["test"]} test pairs')
    say('2/4 masked language modeling of a tiny BERT (4 layers, width 96) on the texts')
    common = [f'model.tokenizer.vocab_file={vocab}']
    mlm = train_stage(args, 's2s mlm', MLM_CFG, osp.join(out, 'mlm'),
                      [f'train_dataloader.dataset.data_root={data}', *common], evaluate=False)
    say(f'3/4 s2s-ft fine-tuning from that checkpoint, same budget: {", ".join(ALGORITHMS)}')
    iters = args.s2s_iters or config_value(S2S_CFG, 'train_cfg.max_iters')
    opts = [*common, f'load_from={mlm["checkpoint"]}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', f'param_scheduler.1.end={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            *[f'{k}.dataset.data_root={data}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')],
            f'test_evaluator.ref_file={data}/test.target']
    runs = run_parallel([partial(train_stage, args, f's2s {alg}', S2S_CFG, osp.join(out, alg),
                                 [*opts, f'model.algorithm={alg}'], evaluate=False) for alg in ALGORITHMS],
                        args.jobs)
    say('4/4 decoding the test split (beam 3) with each')
    tests = run_parallel([partial(_test, args, alg, run['checkpoint'], opts, out)
                          for alg, run in zip(ALGORITHMS, runs, strict=True)], args.jobs)
    from beitmm.evaluation.metrics.seq2seq_metric import copy_source_scores
    with open(osp.join(data, 'test.source'), encoding='utf-8') as f:
        sources = f.read().splitlines()
    with open(osp.join(data, 'test.target'), encoding='utf-8') as f:
        targets = f.read().splitlines()
    copy = {f's2s/{k}': v for k, v in copy_source_scores(sources, targets).items()}
    print_table(dict(zip(ALGORITHMS, tests, strict=True)), copy, out)


def _test(args: argparse.Namespace, alg: str, ckpt: str, opts: List[str], out: str) -> dict:
    metrics = osp.join(out, f'{alg}.test.json')
    pred = osp.join(out, f'{alg}.test.txt')
    run_stage(f's2s test {alg}', [sys.executable, 'tools/test.py', S2S_CFG, ckpt, '--out', metrics,
                                  '--work-dir', osp.join(out, alg), '--cfg-options', *opts,
                                  f'model.algorithm={alg}', f'test_evaluator.output_file={pred}'],
              osp.join(out, f'test_{alg}.log'), threads=args.threads)
    with open(metrics, encoding='utf-8') as f:
        return dict(json.load(f), predictions=pred)


def print_table(results: Dict[str, dict], copy: Dict[str, float], out: str) -> None:
    """ROUGE-1/2/L and BLEU-4 of each algorithm and of copying the source."""
    print('\n  seq2seq demo: description -> sorted shapes, tiny BERT pretrained by MLM here, test split, beam 3')
    print(f'  {"":16s} ' + ' '.join(f'{k.split("/")[1]:>8s}' for k in KEYS))
    for alg, res in results.items():
        print(f'  {alg:16s} ' + ' '.join(f'{res.get(k, float("nan")):8.2f}' for k in KEYS))
    print(f'  {"copy the source":16s} ' + ' '.join(f'{copy.get(k, float("nan")):8.2f}' for k in KEYS))
    first = next(iter(results.values()))['predictions']
    with open(first, encoding='utf-8') as f:
        print(f'  e.g. (pseudo-masked): {f.readline().strip()!r}')
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(results=results, copy_source=copy), f, indent=2)
