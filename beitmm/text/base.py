"""The interface every beitmm text tokenizer shares: encode, batch to padded tensors, decode, check the embedding.

A subclass gives the model's conventions (special tokens and ids, how text becomes ids and ids text); this class
adds the special tokens at the ends, truncates keeping them, pads, counts truncated texts and checks that every id
fits the text embedding.
"""
import importlib
import logging
from typing import Dict, List, Sequence, Union

import torch
from mmengine.logging import print_log

TRUNCATION = ('warn', 'error', 'silent')
PADDING = ('max_length', 'longest')
IdList = Union[Sequence[int], torch.Tensor]


def check_text(text: str, where: str) -> str:
    r"""Return ``text`` if it is encodable UTF-8, else raise naming ``where`` and showing the bad character.

    A lone surrogate (``"\udcff"``, a valid JSON escape, or bytes decoded with ``surrogateescape``) is a Python
    ``str`` that is no text: SentencePiece fails on it with "Unable to cast Python instance of type <class 'str'>
    to C++ type", naming neither the text nor its sample. Every dataset reading captions, questions or
    statements calls this on each text at load time, and the tokenizers call it as a last guard.

    Args:
        text: The text.
        where: The sample it belongs to (file, line / entry, id), for the message.

    Returns:
        str: ``text`` unchanged.

    Raises:
        ValueError: ``text`` holds a character UTF-8 cannot encode.
    """
    if text.isascii():  # the common case, without building an encoded copy
        return text
    try:
        text.encode('utf-8')
    except UnicodeEncodeError as e:
        context = text[max(0, e.start - 30):e.end + 30]
        raise ValueError(f'{where}: the text holds {text[e.start:e.end]!r} at character {e.start}, which is not '
                         'encodable text (a lone surrogate, e.g. a "\\udcff" escape in a JSON file): '
                         f'...{context!r}... Fix or remove it in the data.') from e
    return text


def require(module: str, user: str):
    """Import an optional dependency of the text tokenizers, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f'{user} needs the {module!r} package: pip install -r requirements/multimodal.txt '
                          "(or pip install -e '.[multimodal]')") from e


class BaseTextTokenizer:
    """Common interface of ``beitmm.SentencePieceTokenizer`` and ``beitmm.WordPieceTokenizer``.

    Subclasses set ``vocab_file``, the special ids (``bos_id`` / ``cls_id``, ``eos_id`` / ``sep_id``, ``pad_id``,
    ``mask_id``, ``unk_id``), ``vocab_size`` (as the reference ``transformers`` tokenizer counts it) and
    ``num_ids`` (largest id + 1: the rows the text embedding needs), and implement ``tokenize``,
    ``encode_plain`` and ``decode``.

    Attributes:
        num_truncated_total: Texts truncated by ``encode_batch`` / ``pad_batch`` since construction.
    """

    vocab_file: str
    vocab_size: int
    num_ids: int
    bos_id: int
    eos_id: int
    pad_id: int
    mask_id: int
    unk_id: int

    def __init__(self) -> None:
        self.num_truncated_total = 0
        self._next_warning = 1

    @property
    def cls_id(self) -> int:
        """Id of the first token of every sequence (``<s>`` / ``[CLS]``), the same as ``bos_id``."""
        return self.bos_id

    @property
    def sep_id(self) -> int:
        """Id of the last token of every sequence (``</s>`` / ``[SEP]``), the same as ``eos_id``."""
        return self.eos_id

    @property
    def special_ids(self) -> Dict[str, int]:
        """The special ids by role: ``bos``, ``eos``, ``pad``, ``mask``, ``unk``."""
        return dict(bos=self.bos_id, eos=self.eos_id, pad=self.pad_id, mask=self.mask_id, unk=self.unk_id)

    def tokenize(self, text: str) -> List[str]:
        """Split ``text`` into vocabulary pieces, without the special tokens at the ends."""
        raise NotImplementedError

    def encode_plain(self, text: str) -> List[int]:
        """Ids of ``text`` without the special tokens at the ends (``tokenize`` mapped to ids)."""
        raise NotImplementedError

    def decode(self, ids: IdList, skip_special_tokens: bool = True) -> str:
        """Text of one sequence of ids, as the reference ``transformers`` tokenizer decodes it."""
        raise NotImplementedError

    def encode(self, text: str) -> List[int]:
        """Ids of ``text`` with the model's special tokens: ``[bos, ..., eos]``, not truncated.

        An empty (or all-whitespace) text gives ``[bos, eos]``.

        Args:
            text: One text.

        Returns:
            The ids, ``bos_id`` first and ``eos_id`` last.
        """
        if not isinstance(text, str):
            raise TypeError(f'{type(self).__name__}.encode expects a str, got {type(text).__name__}: {text!r:.80}')
        check_text(text, f'{type(self).__name__}.encode')
        return [self.bos_id] + self.encode_plain(text) + [self.eos_id]

    def encode_batch(self, texts: Sequence[str], max_length: int = 64, truncation: str = 'warn',
                     padding: str = 'max_length') -> Dict[str, Union[torch.Tensor, int]]:
        """Encode texts into one padded batch (BEiT-3: 64 tokens, 32 for captioning; VLMo: 40).

        Args:
            texts: The texts; an empty text becomes ``[bos, eos]`` and padding.
            max_length: Tokens per text, special tokens included (at least 2).
            truncation: What to do with a text longer than ``max_length``: it is always cut to ``max_length``
                keeping ``bos`` first and ``eos`` last; ``'warn'`` also logs the count (on the first truncated
                text, then each time the running total doubles), ``'error'`` raises instead, ``'silent'`` only
                counts (``num_truncated_total``).
            padding: ``'max_length'`` pads every text to ``max_length``; ``'longest'`` to the longest text of
                the batch.

        Returns:
            ``input_ids`` (LongTensor [B, L], padded with ``pad_id``), ``padding_mask`` (BoolTensor [B, L],
            True at padding) and ``num_truncated`` (int, texts of this batch that were truncated).
        """
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f'text {i} of the batch is {type(text).__name__}, expected str: {text!r:.80}')
        return self.pad_batch([self.encode(t) for t in texts], max_length, truncation, padding)

    def pad_batch(self, sequences: Sequence[Sequence[int]], max_length: int = 64, truncation: str = 'warn',
                  padding: str = 'max_length') -> Dict[str, Union[torch.Tensor, int]]:
        """Truncate and pad sequences from ``encode`` (``[bos, ..., eos]``) into one batch.

        Args:
            sequences: Outputs of ``encode``, e.g. made by a dataset and collated here.
            max_length: Tokens per sequence, special tokens included (at least 2).
            truncation: ``'warn'``, ``'error'`` or ``'silent'``, as in ``encode_batch``.
            padding: ``'max_length'`` or ``'longest'``, as in ``encode_batch``.

        Returns:
            ``input_ids``, ``padding_mask`` and ``num_truncated``, as in ``encode_batch``.
        """
        if truncation not in TRUNCATION:
            raise ValueError(f'truncation must be one of {TRUNCATION}, got {truncation!r}')
        if padding not in PADDING:
            raise ValueError(f'padding must be one of {PADDING}, got {padding!r}')
        if not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f'max_length must be an int >= 2 (room for bos and eos), got {max_length!r}')
        too_long = [len(s) for s in sequences if len(s) > max_length]
        if too_long and truncation == 'error':
            raise ValueError(f'{len(too_long)} of {len(sequences)} texts are longer than max_length={max_length} '
                             f'tokens (special tokens included; the longest has {max(too_long)}); '
                             "use truncation='warn' to cut them")
        cut = [list(s) if len(s) <= max_length else list(s[:max_length - 1]) + [s[-1]] for s in sequences]
        length = max_length if padding == 'max_length' else max([len(s) for s in cut], default=2)
        input_ids = torch.full((len(cut), length), self.pad_id, dtype=torch.long)
        padding_mask = torch.ones((len(cut), length), dtype=torch.bool)
        for i, s in enumerate(cut):
            input_ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
            padding_mask[i, :len(s)] = False
        self._count_truncated(len(too_long), len(sequences), max_length, truncation)
        return dict(input_ids=input_ids, padding_mask=padding_mask, num_truncated=len(too_long))

    def _count_truncated(self, num: int, batch: int, max_length: int, truncation: str) -> None:
        self.num_truncated_total += num
        if num and truncation == 'warn' and self.num_truncated_total >= self._next_warning:
            while self._next_warning <= self.num_truncated_total:
                self._next_warning *= 2
            print_log(f'{type(self).__name__}: {num} of {batch} texts longer than max_length={max_length} tokens '
                      f'were truncated ({self.num_truncated_total} so far; logged again at '
                      f"{self._next_warning}). truncation='error' stops instead, 'silent' does not log.",
                      logger='current', level=logging.WARNING)

    def decode_batch(self, batch: Union[Sequence[IdList], torch.Tensor], skip_special_tokens: bool = True) -> List[str]:
        """``decode`` every row of a batch (padding is skipped with the special tokens)."""
        return [self.decode(ids, skip_special_tokens) for ids in batch]

    def check_embedding(self, num_embeddings: int, name: str = 'text embedding') -> None:
        """Raise if an id of this tokenizer would index past a text embedding of ``num_embeddings`` rows.

        A larger embedding is accepted: BEiT-3's ``beit3.spm`` has 64002 ids for a 64010-row embedding.

        Args:
            num_embeddings: Rows of the model's text (word) embedding.
            name: What to call the embedding in the message.
        """
        if num_embeddings < self.num_ids:
            raise ValueError(
                f'tokenizer has {self.num_ids} ids but the {name} has {num_embeddings} rows: ids '
                f'{num_embeddings}..{self.num_ids - 1} (mask id {self.mask_id}) would index past it. The vocabulary '
                f'{self.vocab_file} does not belong to this model: use the one it was trained with, or build the '
                f'model with at least {self.num_ids} text embedding rows.')

    @staticmethod
    def _as_list(ids: IdList) -> List[int]:
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f'decode takes one sequence of ids (1-D), got shape {tuple(ids.shape)}; '
                                 'use decode_batch for a batch')
            return ids.tolist()
        return [int(i) for i in ids]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(vocab_file={self.vocab_file!r}, vocab_size={self.vocab_size}, '
                f'special_ids={self.special_ids})')
