"""The VL demo (``python tools/demo.py --task vl``): a tiny BEiT-3 fine-tuned on generated VL data, metrics vs chance.

The data are VQAv2, NLVR2, retrieval and captioning sets in the released layouts; each metric is printed next to its
chance level, and a figure is drawn.

Stages (each a ``tools/train.py`` run of a configs/demo/beit3-tiny_demo_*.py config, log in demo_out/vl/*.log):
data (``tools/misc/make_demo_data.py --only vl``), a SentencePiece vocabulary trained on the generated texts
(``tools/misc/train_text_tokenizer.py``), the four fine-tunings from scratch (``--jobs 2`` runs two at a time), then
demo_out/vl/vl_predictions.png (``tools/visualization/visualize_vl.py``).
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import Counter
from functools import partial
from math import comb
from typing import Dict, Sequence

from .stages import config_value, load_text, rel, run_parallel, run_stage, say, train_stage

CFG = {task: f'configs/demo/beit3-tiny_demo_{task}.py' for task in ('vqa', 'nlvr2', 'retrieval', 'caption')}
METRIC = {'vqa': 'vqa/accuracy', 'nlvr2': 'accuracy/top1', 'retrieval': 't2i/r_mean', 'caption': 'caption/CIDEr'}


def add_vl_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of the VL demo."""
    group.add_argument('--vl-train', type=int, default=400, help='generated COCO train images (default 400)')
    group.add_argument('--vl-val', type=int, default=100, help='generated COCO val images (default 100)')
    group.add_argument('--vl-nlvr2', type=int, nargs=2, default=(800, 200), metavar=('TRAIN', 'VAL'),
                       help='generated NLVR2 train and dev pairs (default 800 200)')
    group.add_argument('--vl-tasks', nargs='+', choices=sorted(CFG), default=['vqa', 'nlvr2', 'retrieval', 'caption'],
                       help='which fine-tunings to run (default: all four)')


def vqa_chance(coco_root: str) -> Dict[str, float]:
    """Official VQA accuracy on rest_val of answering the most frequent training answer, overall and per question.

    The per-question prior (the most frequent training answer to the same question text) is the score of a model
    that ignores the image.
    """
    import beitmm.datasets  # noqa: F401
    from beitmm.evaluation import vqa_accuracy
    from beitmm.registry import DATASETS
    kw = dict(type='beitmm.VQAv2', data_root=coco_root, rest_val_images=50, pipeline=[], check_images=False)
    train = DATASETS.build(dict(kw, split=('train', 'trainable_val')))
    val = DATASETS.build(dict(kw, split='rest_val'))
    answers = train.metainfo['answers']
    overall, by_question = Counter(), {}
    for i in range(len(train)):
        item = train.get_data_info(i)
        pairs = list(zip(item['answer_scores'], item['answer_labels'], strict=True))
        best = answers[max(pairs)[1]] if pairs else None
        if best is not None:
            overall[best] += 1
            by_question.setdefault(item['question'], Counter())[best] += 1
    top = overall.most_common(1)[0][0]
    items = [val.get_data_info(i) for i in range(len(val))]
    majority = sum(vqa_accuracy(top, it['gt_answers']) for it in items) / len(items)
    prior = sum(vqa_accuracy((by_question.get(it['question']) or overall).most_common(1)[0][0], it['gt_answers'])
                for it in items) / len(items)
    return dict(majority=100 * majority, question_prior=100 * prior)


def retrieval_chance(num_images: int, captions_per_image: int, ks=(1, 5, 10)) -> float:
    """Mean of TR@k and IR@k (percent) of a random ranking: 1 - C(N-c, k) / C(N, k) for texts, k / N for images."""
    texts = num_images * captions_per_image
    tr = [1 - comb(texts - captions_per_image, min(k, texts)) / comb(texts, min(k, texts)) for k in ks]
    ir = [min(k, num_images) / num_images for k in ks]
    return 100 * (sum(tr) + sum(ir)) / (2 * len(ks))


def caption_chance(coco_root: str) -> float:
    """CIDEr (percent) of captioning every val image with the most frequent training caption."""
    from beitmm.evaluation.metrics import CaptionMetric
    with open(osp.join(coco_root, 'dataset_coco.json'), encoding='utf-8') as f:
        images = json.load(f)['images']
    train = Counter(s['raw'] for im in images if im['split'] in ('train', 'restval') for s in im['sentences'])
    constant = train.most_common(1)[0][0]
    metric = CaptionMetric(scorers=('CIDEr', ))
    metric.process(None, [dict(image_id=im['cocoid'], pred_caption=constant, gt_caption=[s['raw'] for s in
                                                                                          im['sentences']])
                          for im in images if im['split'] == 'val'])
    return next(v for k, v in metric.compute_metrics(metric.results).items() if k.endswith('CIDEr'))


def make_vl_data(args: argparse.Namespace, out: str, train: int, val: int,
                 nlvr2: Sequence[int]) -> str:
    """Generate the VL fine-tuning sets under ``args.data``/vl and train their SentencePiece vocabulary.

    Args:
        args: Parsed demo options (``data``, ``threads``).
        out: Folder of the stage logs.
        train: Generated training scenes.
        val: Generated validation scenes.
        nlvr2: Generated NLVR2 train / val examples.

    Returns:
        The path of the trained ``demo.spm``.
    """
    data, py = osp.join(args.data, 'vl'), sys.executable
    run_stage('vl data', [py, 'tools/misc/make_demo_data.py', '--out', args.data, '--only', 'vl', '--vl-train',
                          str(train), '--vl-val', str(val), '--vl-nlvr2', *map(str, nlvr2), '--overwrite'],
              osp.join(out, 'data.log'), threads=args.threads)
    spm = osp.join(data, 'demo.spm')
    run_stage('vl vocabulary', [py, 'tools/misc/train_text_tokenizer.py', 'sentencepiece',
                                osp.join(data, 'corpus.txt'), '--out', spm, '--vocab-size', '200',
                                '--soft-vocab-limit', '--character-coverage', '1.0'],
              osp.join(out, 'vocab.log'), threads=args.threads)
    return spm


def run_vl(args: argparse.Namespace) -> None:
    """Generate the VL data and vocabulary, fine-tune the tasks, print metrics against chance, draw the figure.

    Args:
        args: Parsed demo options.
    """
    out, data, py = osp.join(args.out, 'vl'), osp.join(args.data, 'vl'), sys.executable
    os.makedirs(out, exist_ok=True)
    tasks = list(args.vl_tasks)
    say(f'vl task: load average {load_text()} on {os.cpu_count()} cores; full logs in {rel(out)}/*.log')
    say(f'1/4 data: {args.vl_train} + {args.vl_val} generated scenes in the VQAv2, NLVR2, COCO / Flickr30K Karpathy '
        'layouts; a SentencePiece vocabulary trained on their texts')
    spm = make_vl_data(args, out, args.vl_train, args.vl_val, args.vl_nlvr2)
    with open(osp.join(data, 'coco/vqa/answer2label.txt'), encoding='utf-8') as f:
        num_answers = sum(1 for line in f if line.strip())
    roots = dict(vqa=f'{data}/coco', nlvr2=f'{data}/nlvr2', retrieval=f'{data}/coco', caption=f'{data}/coco')
    say(f'2/4 fine-tuning a tiny BEiT-3 (4 layers, width 96, 64 px) from scratch: {", ".join(tasks)} (NLVR2 from '
        'the VQA checkpoint)')
    calls: Dict[str, partial] = {}
    for task in tasks:
        opts = [f'{k}.dataset.data_root={roots[task]}' for k in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')]
        opts.append(f'model.tokenizer.model_file={spm}')
        if task == 'vqa':
            opts.append(f'model.num_labels={num_answers}')
        epochs = config_value(CFG[task], 'train_cfg.max_epochs')
        calls[task] = partial(train_stage, args, f'vl {task}', CFG[task], osp.join(out, task), opts,
                              max_epochs=epochs)
    first = [t for t in tasks if t in ('vqa', 'retrieval')]  # NLVR2 waits for the VQA checkpoint
    runs = dict(zip(first, run_parallel([calls[t] for t in first], args.jobs), strict=True))
    if 'nlvr2' in calls and 'vqa' in runs:
        calls['nlvr2'].args[4].append(f"load_from={runs['vqa']['checkpoint']}")
    second = [t for t in tasks if t not in first]
    runs.update(zip(second, run_parallel([calls[t] for t in second], args.jobs), strict=True))
    runs = {t: runs[t] for t in tasks}

    say('3/4 chance levels')
    chance = {}
    if 'vqa' in tasks:
        chance['vqa'] = vqa_chance(roots['vqa'])
    if 'nlvr2' in tasks:
        with open(osp.join(roots['nlvr2'], 'dev.json'), encoding='utf-8') as f:
            labels = Counter(json.loads(line)['label'] for line in f if line.strip())
        chance['nlvr2'] = 100 * max(labels.values()) / sum(labels.values())
    if 'retrieval' in tasks:
        with open(osp.join(roots['retrieval'], 'dataset_coco.json'), encoding='utf-8') as f:
            val = [im for im in json.load(f)['images'] if im['split'] == 'val']
        chance['retrieval'] = retrieval_chance(len(val), len(val[0]['sentences']))
    if 'caption' in tasks:
        chance['caption'] = caption_chance(roots['caption'])

    say('4/4 drawing questions, answers, statements, retrieved and generated captions')
    png = osp.join(out, 'vl_predictions.png')
    figure = [py, 'tools/visualization/visualize_vl.py', '--data', data, '--out', png]
    for task in tasks:
        figure += [f'--{task}', CFG[task], runs[task]['checkpoint']]
    run_stage('vl figure', figure + ['--cfg-options', f'model.tokenizer.model_file={spm}'],
              osp.join(out, 'visualize.log'), threads=args.threads)
    print_vl_table(runs, chance, png)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(metrics={t: {k: v for k, v in r.items() if k not in ('records', 'checkpoint')}
                                for t, r in runs.items()}, chance=chance), f, indent=2)


def print_vl_table(runs: Dict[str, dict], chance: Dict[str, object], png: str) -> None:
    """Print each task's metrics next to its chance level."""
    print('\n  VL demo: tiny BEiT-3 from scratch on generated data (no pretraining; 64 px, 2 CPU cores)')
    print(f'  {"task":10s} {"metric":24s} {"beitmm":>8s}  {"chance":>24s}  {"time":>6s}')
    rows = dict(vqa=('VQA acc. (official)', 'vqa/accuracy'), nlvr2=('NLVR2 acc. (dev)', 'accuracy/top1'),
                retrieval=('R mean (TR/IR@1,5,10)', 't2i/r_mean'), caption=('CIDEr (val)', 'caption/CIDEr'))
    for task, run in runs.items():
        name, key = rows[task]
        ch = chance.get(task)
        if isinstance(ch, dict):
            ch_text = f'{ch["majority"]:.1f} majority, {ch["question_prior"]:.1f} q-prior'
        else:
            ch_text = f'{ch:.1f}' + (' constant caption' if task == 'caption' else ' random')
        print(f'  {task:10s} {name:24s} {run.get(key, float("nan")):8.2f}  {ch_text:>24s}  {run["seconds"]:5.0f}s')
        if task == 'retrieval':
            parts = ', '.join(f'{k.split("/")[-1]} {run[k]:.1f}' for k in ('i2t/tr_r1', 'i2t/tr_r5', 't2i/ir_r1',
                                                                         't2i/ir_r5') if k in run)
            print(f'  {"":10s} {parts}')
        if task == 'caption':
            parts = ', '.join(f'{k.split("/")[-1]} {run[k]:.1f}' for k in ('caption/Bleu_4', 'caption/METEOR',
                                                                         'caption/ROUGE_L') if k in run)
            print(f'  {"":10s} {parts}')
    print('  chance: VQA the most frequent training answer (and the best answer per question text, a model blind to '
          'the image); NLVR2 the majority label; retrieval a random ranking; captioning one constant caption.')
    print(f'  figure: {png}')
