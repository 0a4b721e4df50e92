"""Tiny GLUE folders in the released TSV layouts (headers, column orders, label spellings of ``glue_data/``).

The sentences are generated; only the layout is GLUE's: CoLA train / dev without a header, MRPC's
``Quality #1 ID #2 ID #1 String #2 String``, STS-B's 10 columns ending in ``score``, MNLI's 12 (train) / 16 (dev)
columns ending in ``gold_label``, and so on.
"""
import os.path as osp
import random
from pathlib import Path
from typing import Dict, List

WORDS = ('a the man woman dog cat red blue small large runs sits on in park street ball car tree house '
         'happy sad good bad movie film great terrible').split()
HEADERS = {
    'SST-2': ['sentence', 'label'],
    'MRPC': ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'],
    'QQP': ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'],
    'STS-B': ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2',
              'score'],
    'QNLI': ['index', 'question', 'sentence', 'label'],
    'RTE': ['index', 'sentence1', 'sentence2', 'label'],
    'WNLI': ['index', 'sentence1', 'sentence2', 'label'],
}
MNLI_TRAIN = ['index', 'promptID', 'pairID', 'genre', 'sentence1_binary_parse', 'sentence2_binary_parse',
              'sentence1_parse', 'sentence2_parse', 'sentence1', 'sentence2', 'label1', 'gold_label']
MNLI_DEV = MNLI_TRAIN[:-1] + ['label2', 'label3', 'label4', 'label5', 'gold_label']


def _row(folder: str, i: int, a: str, b: str, rng: random.Random, dev: bool) -> List[str]:
    lab = rng.randint(0, 1)
    nli = ('entailment', 'not_entailment')[lab]
    if folder == 'CoLA':
        return ['gj04', str(lab), '*' if not lab else '', a]
    if folder == 'SST-2':
        return [a, str(lab)]
    if folder == 'MRPC':
        return [str(lab), str(1000 + i), str(2000 + i), a, b]
    if folder == 'QQP':
        return [str(i), str(2 * i), str(2 * i + 1), a + '?', b + '?', str(lab)]
    if folder == 'STS-B':
        return [str(i), 'main-captions', 'MSRvid', '2012test', str(i), 'none', 'none', a, b, f'{rng.uniform(0, 5):.3f}']
    if folder == 'MNLI':
        gold = rng.choice(('contradiction', 'entailment', 'neutral'))
        row = [str(i), str(i), f'{i}n', 'fiction', f'( {a} )', f'( {b} )', f'(ROOT {a})', f'(ROOT {b})', a, b, gold]
        return row + [gold] * 4 + [gold] if dev else row + [gold]
    if folder == 'WNLI':
        return [str(i), a, b, str(lab)]
    return [str(i), a, b, nli]  # QNLI, RTE


def write_glue_data(root, n: int = 12, seed: int = 0) -> Dict[str, str]:
    """Write ``{root}/{CoLA,SST-2,...}/train.tsv`` and ``dev.tsv`` (MNLI: ``dev_matched`` / ``dev_mismatched``).

    Args:
        root: The ``glue_data`` folder to create.
        n: Rows per file.
        seed: Random seed of the generated sentences and labels.

    Returns:
        Task folder -> its path.
    """
    rng = random.Random(seed)
    out = {}
    for folder in ('CoLA', 'SST-2', 'MRPC', 'QQP', 'STS-B', 'MNLI', 'QNLI', 'RTE', 'WNLI'):
        path = Path(root) / folder
        path.mkdir(parents=True, exist_ok=True)
        splits = ('train', 'dev_matched', 'dev_mismatched') if folder == 'MNLI' else ('train', 'dev')
        for split in splits:
            dev = split != 'train'
            lines = []
            if folder == 'MNLI':
                lines.append(MNLI_DEV if dev else MNLI_TRAIN)
            elif folder in HEADERS:
                lines.append(HEADERS[folder])
            for i in range(n):
                a = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
                b = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
                lines.append(_row(folder, i, a, b, rng, dev))
            (path / f'{split}.tsv').write_text(''.join('\t'.join(r) + '\n' for r in lines), encoding='utf-8')
        out[folder] = osp.join(str(root), folder)
    return out
