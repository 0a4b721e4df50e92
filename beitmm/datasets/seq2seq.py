"""Sequence-to-sequence data (s2s-ft) in the layouts users download: JSON lines, line-aligned text, SQuAD QG.

Formats (``data_format``; ``'auto'`` detects it from the file name, then from the first line):

- ``'json'``: s2s-ft's JSON lines, one ``{"src": ..., "tgt": ...}`` per line (``.json`` / ``.jsonl``); ``src`` and
  ``tgt`` are either strings or lists of WordPiece tokens (the "tokenized format"), ``tgt`` absent when decoding.
- ``'lines'``: line-aligned ``{split}.source`` / ``{split}.target`` (the XSum / CNN-DM downloads of HF and
  fairseq, and s2s-ft's gold ``{split}.target``), or ``{split}.src`` / ``{split}.tgt``.
- ``'qg'``: UniLM v1's SQuAD question-generation files, ``{split}.pa.tok.txt`` (``paragraph [SEP] answer``,
  WordPiece-tokenized) and ``{split}.q.tok.txt`` (the tokenized question).

Every item has ``src`` (str), ``tgt`` (str, only when a target exists) and ``line`` (0-based index of the example,
the line its prediction goes to). Pre-tokenized inputs also keep the pieces in ``src_tokens`` / ``tgt_tokens``;
the strings have WordPiece ``##`` pieces joined back into words. Nothing is truncated here (the model truncates
tokens and counts what it cut).
"""
import json
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from beitmm.registry import DATASETS

FORMATS = ('auto', 'json', 'lines', 'qg')
# (source suffix, target suffix, format), in the order a bare split prefix is resolved
SUFFIXES = (('.json', None, 'json'), ('.jsonl', None, 'json'), ('.source', '.target', 'lines'),
            ('.src', '.tgt', 'lines'), ('.pa.tok.txt', '.q.tok.txt', 'qg'))


def join_wordpieces(tokens: Union[str, Sequence[str]]) -> str:
    """Join WordPiece tokens into words: ``['un', '##su', '##pp']`` -> ``'unsupp'``.

    Args:
        tokens: A list of pieces, or a string of space-separated pieces.

    Returns:
        The pieces joined by spaces, with each ``##`` continuation glued to the piece before it.
    """
    text = tokens if isinstance(tokens, str) else ' '.join(str(t) for t in tokens)
    return ' '.join(text.split()).replace(' ##', '')


def _read_lines(path: str) -> List[str]:
    """The lines of a UTF-8 text file without their line ends (a final newline adds no empty line).

    Raises:
        ValueError: naming the file and the 1-based line of the first byte that is not UTF-8.
    """
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        line = raw.count(b'\n', 0, e.start) + 1
        raise ValueError(f'Seq2SeqDataset: {path} line {line} is not UTF-8 (byte {raw[e.start]:#04x} at byte offset '
                         f'{e.start}); re-encode the file as UTF-8') from None
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    return [line[:-1] if line.endswith('\r') else line for line in lines]


def _text_field(value, path: str, lineno: int, key: str) -> Tuple[str, Optional[List[str]]]:
    """A JSON ``src`` / ``tgt`` value as (text, pieces or None)."""
    if isinstance(value, str):
        return value.strip(), None
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return join_wordpieces(value), list(value)
    raise ValueError(f'Seq2SeqDataset: {path} line {lineno}: "{key}" must be a string or a list of token strings, '
                     f'got {type(value).__name__}')


@DATASETS.register_module()
class Seq2SeqDataset(BaseDataset):
    """Source / target text pairs for seq2seq fine-tuning (XSum, CNN/DM, SQuAD QG, any s2s-ft JSON file).

    Args:
        ann_file: The JSON lines file (``train.json``), the source file (``train.source``, ``train.src``,
            ``train.pa.tok.txt``), or a bare split prefix (``train``) resolved by trying ``.json``, ``.jsonl``,
            ``.source``, ``.src``, ``.pa.tok.txt`` in that order. Relative to ``data_root``.
        data_format: ``'auto'``, ``'json'``, ``'lines'`` or ``'qg'`` (see the module docstring).
        target_file: The target file of a ``'lines'`` / ``'qg'`` source; by default derived from the source name
            (``.source`` -> ``.target``, ``.src`` -> ``.tgt``, ``.pa.tok.txt`` -> ``.q.tok.txt``).
        data_root: Root of ``ann_file`` and ``target_file``.
        test_mode: Decoding / evaluation: targets may be absent (no target file, no ``"tgt"`` key) or empty.
            In training every example needs a non-empty target.
        **kwargs: The other arguments of ``mmengine.dataset.BaseDataset`` (``pipeline``, ``indices``, ...).
    """

    METAINFO: dict = dict(task='seq2seq')

    def __init__(self, ann_file: str, data_format: str = 'auto', target_file: Optional[str] = None,
                 data_root: str = '', test_mode: bool = False, **kwargs) -> None:
        if data_format not in FORMATS:
            raise ValueError(f'Seq2SeqDataset: data_format must be one of {FORMATS}, got {data_format!r}')
        self.data_format = data_format
        self.target_file = target_file
        kwargs.setdefault('data_prefix', dict())
        super().__init__(ann_file=ann_file, data_root=data_root, test_mode=test_mode, **kwargs)

    def _resolve(self) -> Tuple[str, str, Optional[str]]:
        """(source path, format, target path or None) of this dataset."""
        path, fmt = self.ann_file, self.data_format
        if not osp.isfile(path):
            tried = [path + s for s, _, f in SUFFIXES if fmt in ('auto', f)]
            found = [p for p in tried if osp.isfile(p)]
            if not found:
                raise FileNotFoundError(f'Seq2SeqDataset: {path} does not exist, nor any of {tried}')
            path = found[0]
        if fmt == 'auto':
            fmt = next((f for s, _, f in SUFFIXES if path.endswith(s)), None) or self._sniff(path)
        target = self.target_file
        if target is not None:
            target = target if osp.isabs(target) else osp.join(self.data_root or '', target)
        elif fmt != 'json':
            target = next((path[:-len(s)] + t for s, t, f in SUFFIXES if f == fmt and path.endswith(s)), None)
            if target is None:
                raise ValueError(f'Seq2SeqDataset: cannot derive the target file of {path} (expected a name ending in '
                                 f'{[s for s, _, f in SUFFIXES if f == fmt]}); set target_file')
        return path, fmt, target

    @staticmethod
    def _sniff(path: str) -> str:
        """The format of a file whose name says nothing: JSON lines when its first line is a JSON object."""
        with open(path, encoding='utf-8') as f:
            first = next((line for line in f if line.strip()), '')
        try:
            if isinstance(json.loads(first), dict):
                return 'json'
        except ValueError:
            pass
        raise ValueError(f'Seq2SeqDataset: cannot tell the format of {path} from its name or first line; set '
                         'data_format to "json", "lines" or "qg"')

    def load_data_list(self) -> List[dict]:
        """Read the examples.

        Returns:
            One dict per example: ``src``, ``line`` and, when there is a target, ``tgt`` (plus ``src_tokens`` /
            ``tgt_tokens`` for pre-tokenized input).
        """
        path, fmt, target = self._resolve()
        items = self._load_json(path) if fmt == 'json' else self._load_pair(path, target, fmt)
        if not self.test_mode:
            for item in items:
                if not item.get('tgt'):
                    where = item.pop('_where')
                    raise ValueError(f'Seq2SeqDataset: missing or empty target at {where} (example {item["line"]}); '
                                     'training needs a target for every example (test_mode=True to decode without '
                                     'targets)')
        for item in items:
            item.pop('_where', None)
        return items

    def _load_json(self, path: str) -> List[dict]:
        items = []
        for lineno, raw in enumerate(_read_lines(path), start=1):
            if not raw.strip():
                continue  # blank lines are not examples (s2s-ft skips them too)
            try:
                obj = json.loads(raw)
            except ValueError as e:
                raise ValueError(f'Seq2SeqDataset: {path} line {lineno} is not valid JSON ({e})') from None
            if not isinstance(obj, dict) or 'src' not in obj:
                raise ValueError(f'Seq2SeqDataset: {path} line {lineno}: expected an object with "src" (and "tgt"), '
                                 f'got {raw[:80]!r}')
            item = dict(line=len(items), _where=f'{path} line {lineno}')
            item['src'], src_tokens = _text_field(obj['src'], path, lineno, 'src')
            if src_tokens is not None:
                item['src_tokens'] = src_tokens
            if obj.get('tgt') is not None:
                item['tgt'], tgt_tokens = _text_field(obj['tgt'], path, lineno, 'tgt')
                if tgt_tokens is not None:
                    item['tgt_tokens'] = tgt_tokens
            items.append(item)
        return items

    def _load_pair(self, path: str, target: Optional[str], fmt: str) -> List[dict]:
        sources = _read_lines(path)
        targets = None
        if target is not None and osp.isfile(target):
            targets = _read_lines(target)
            if len(targets) != len(sources):
                raise ValueError(f'Seq2SeqDataset: {path} has {len(sources)} lines but {target} has {len(targets)}; '
                                 'the source and target files must be line-aligned')
        elif not self.test_mode:
            raise FileNotFoundError(f'Seq2SeqDataset: target file {target} of {path} does not exist (set '
                                    'target_file, or test_mode=True to decode without targets)')
        items = []
        for i, src in enumerate(sources):
            item = dict(line=i, _where=f'{target} line {i + 1}')
            if fmt == 'qg':
                item['src_tokens'] = src.split()
                item['src'] = join_wordpieces(src)
            else:
                item['src'] = src.strip()
            if targets is not None:
                item['tgt'] = join_wordpieces(targets[i]) if fmt == 'qg' else targets[i].strip()
                if fmt == 'qg':
                    item['tgt_tokens'] = targets[i].split()
            items.append(item)
        return items
