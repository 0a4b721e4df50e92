"""Write the VQAv2 answer vocabulary (BEiT-3's ``answer2label.txt``) from the released annotation files.

    python tools/dataset_converters/vqav2_answers.py DATA_ROOT [--out vqa/answer2label.txt] [--min-count 9] \
        [--question-dir vqa] [--force]

Reads ``DATA_ROOT/vqa/v2_mscoco_{train2014,val2014}_annotations.json``, normalises every
``multiple_choice_answer`` with the official VQA answer normalisation, keeps those seen at least ``--min-count``
times (3129 for the real data) in order of first appearance, and writes JSON lines ``{"answer", "label"}``
(``--out`` is relative to DATA_ROOT). ``beitmm.VQAv2`` builds the same file on first use when it is missing; this
tool builds it ahead of a distributed run or with another threshold.
"""
import argparse
import os
import os.path as osp
import runpy
from collections import Counter
from typing import List, Optional

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from beitmm.datasets.vl.answers import vqa_answer_vocabulary, write_answer_file
from beitmm.datasets.vl.common import load_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments; ``sys.argv[1:]`` if None.

    Returns:
        The parsed arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='VQAv2 root (with vqa/v2_mscoco_*_annotations.json)')
    parser.add_argument('--out', default='vqa/answer2label.txt', help='output file, relative to data_root')
    parser.add_argument('--min-count', type=int, default=9, help='minimum count of a normalised answer')
    parser.add_argument('--question-dir', default='vqa', help='folder of the annotation files, under data_root')
    parser.add_argument('--force', action='store_true', help='replace an existing output file')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Build and write the vocabulary; print its size and most frequent answers.

    Args:
        argv: Arguments; ``sys.argv[1:]`` if None.
    """
    args = parse_args(argv)
    out = args.out if osp.isabs(args.out) else osp.join(args.data_root, args.out)
    if osp.exists(out) and not args.force:
        raise SystemExit(f"'{out}' exists; pass --force to replace it.")
    annotations = []
    for sub in ('train2014', 'val2014'):
        path = osp.join(args.data_root, args.question_dir, f'v2_mscoco_{sub}_annotations.json')
        annotations.append(load_json(path, 'VQAv2 annotations')['annotations'])
    answers = vqa_answer_vocabulary(annotations, args.min_count)
    if not answers:
        raise SystemExit(f'No multiple_choice_answer occurs {args.min_count} times; lower --min-count.')
    os.makedirs(osp.dirname(out) or os.curdir, exist_ok=True)
    write_answer_file(answers, out)
    total = sum(len(a) for a in annotations)
    counts = Counter(a['multiple_choice_answer'] for anns in annotations for a in anns)
    print(f'{len(answers)} answers seen >= {args.min_count} times in {total} train + val annotations -> {out}')
    print('most frequent raw multiple_choice_answer: ' + ', '.join(f'{a} ({c})' for a, c in counts.most_common(5)))


if __name__ == '__main__':
    main()
