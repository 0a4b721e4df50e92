"""Draw VL predictions on validation images: VQA answers, NLVR2 verdicts, retrieved and generated captions.

Example (after ``python tools/demo.py --task vl``)::

    python tools/visualization/visualize_vl.py --data data/demo/vl --out vl.png \
        --vqa configs/demo/beit3-tiny_demo_vqa.py demo_out/vl/vqa/epoch_8.pth \
        --caption configs/demo/beit3-tiny_demo_caption.py demo_out/vl/caption/epoch_10.pth

Each given task adds one row of ``--num`` validation examples (images of the generated data's released layouts).
"""
import argparse
import json
import os.path as osp
import runpy
import textwrap
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
from mmengine.config import DictAction
from PIL import Image


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='root of the generated VL data (make_demo_data.py --only vl)')
    p.add_argument('--out', required=True, help='PNG to write')
    for task in ('vqa', 'nlvr2', 'retrieval', 'caption'):
        p.add_argument(f'--{task}', nargs=2, metavar=('CONFIG', 'CHECKPOINT'))
    p.add_argument('--num', type=int, default=4, help='examples per task')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, help='overrides of every config')
    return p.parse_args(argv)


def _val_images(data: str) -> List[dict]:
    with open(osp.join(data, 'coco', 'dataset_coco.json'), encoding='utf-8') as f:
        return [im for im in json.load(f)['images'] if im['split'] == 'val']


def _wrap(text: str, width: int = 34) -> str:
    return '\n'.join(textwrap.wrap(text, width))


def main(argv: Optional[List[str]] = None) -> None:
    """Run the given models on validation examples and draw one row per task."""
    args = parse_args(argv)
    from beitmm.apis import answer_question, caption_image, init_model, judge_statement, rank_texts
    rows = [t for t in ('vqa', 'nlvr2', 'retrieval', 'caption') if getattr(args, t)]
    if not rows:
        raise SystemExit('give at least one of --vqa / --nlvr2 / --retrieval / --caption CONFIG CHECKPOINT')
    fig, axes = plt.subplots(len(rows), args.num, figsize=(3.2 * args.num, 3.6 * len(rows)), squeeze=False)
    images = _val_images(args.data)[:args.num]
    coco = osp.join(args.data, 'coco')
    for r, task in enumerate(rows):
        cfg, ckpt = getattr(args, task)
        model = init_model(cfg, ckpt, cfg_options=args.cfg_options)
        print(f'[visualize_vl] {task}: {cfg} + {ckpt}', flush=True)
        if task == 'vqa':
            with open(osp.join(coco, 'vqa', 'v2_OpenEnded_mscoco_val2014_questions.json'), encoding='utf-8') as f:
                questions = json.load(f)['questions']
            for c, q in enumerate(questions[:args.num * 4:4]):
                path = osp.join(coco, 'val2014', f'COCO_val2014_{q["image_id"]:012d}.jpg')
                (answer, score), = answer_question(model, path, q['question'])
                axes[r, c].imshow(Image.open(path))
                axes[r, c].set_title(_wrap(f'Q: {q["question"]}\nA: {answer} ({score:.2f})'), fontsize=8)
        elif task == 'nlvr2':
            root = osp.join(args.data, 'nlvr2')
            with open(osp.join(root, 'dev.json'), encoding='utf-8') as f:
                lines = [json.loads(line) for line in f if line.strip()][:args.num]
            for c, ex in enumerate(lines):
                stem = ex['identifier'].rsplit('-', 1)[0]
                pair = [osp.join(root, 'dev', f'{stem}-img{k}.png') for k in range(2)]
                verdict, p_true = judge_statement(model, pair, ex['sentence'])
                left, right = Image.open(pair[0]), Image.open(pair[1])
                both = Image.new('RGB', (left.width + right.width + 4, left.height), 'white')
                both.paste(left, (0, 0))
                both.paste(right, (left.width + 4, 0))
                axes[r, c].imshow(both)
                axes[r, c].set_title(_wrap(f'{ex["sentence"]}\npred {verdict} (p {p_true:.2f}), truth '
                                           f'{ex["label"]}'), fontsize=8)
        elif task == 'retrieval':
            pool = [s['raw'] for im in images for s in im['sentences']]
            for c, im in enumerate(images):
                path = osp.join(coco, im['filepath'], im['filename'])
                best, score = rank_texts(model, path, pool)[0]
                hit = 'hit' if pool[best] in [s['raw'] for s in im['sentences']] else 'miss'
                axes[r, c].imshow(Image.open(path))
                axes[r, c].set_title(_wrap(f'top-1 of {len(pool)}: {pool[best]} ({hit}, {score:.2f})'), fontsize=8)
        else:
            for c, im in enumerate(images):
                path = osp.join(coco, im['filepath'], im['filename'])
                axes[r, c].imshow(Image.open(path))
                axes[r, c].set_title(_wrap(f'generated: {caption_image(model, path)}\ntrue: '
                                           f'{im["sentences"][0]["raw"]}'), fontsize=8)
        axes[r, 0].set_ylabel(task, fontsize=11)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f'[visualize_vl] wrote {args.out}')


if __name__ == '__main__':
    main()
