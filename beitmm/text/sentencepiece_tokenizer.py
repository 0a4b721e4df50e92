"""BEiT-3's text tokenizer: a SentencePiece model (``beit3.spm``) with XLM-R's fairseq conventions.

unilm's ``beit3/`` loads ``beit3.spm`` with ``transformers.XLMRobertaTokenizer``; this class gives the same ids,
pieces and decoded text, built on the ``sentencepiece`` package:

- ``<s>`` = 0 (bos / cls), ``<pad>`` = 1, ``</s>`` = 2 (eos / sep), ``<unk>`` = 3;
- every other SentencePiece id is shifted by +1 (fairseq offset); ``<mask>`` = len(spm) + 1;
- so the vocabulary has len(spm) + 2 ids: 64002 for ``beit3.spm``, whose model has a 64010-row text embedding
  (8 rows unused, microsoft/unilm#1318).

The five special tokens written in the text are kept whole (``"a <mask> b"``), ``<mask>`` eating the whitespace on
its left, as in ``transformers``.
"""
import logging
import os.path as osp
import re
from typing import Dict, List

from mmengine.logging import print_log

from beitmm.checkpoint.io.package_path import resolve_package_path
from beitmm.registry import TEXT_TOKENIZERS

from .base import BaseTextTokenizer, IdList, check_text, require

FAIRSEQ_SPECIALS = {'<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3}
FAIRSEQ_OFFSET = 1
SPIECE_UNDERLINE = '\u2581'


def _not_a_model(path: str, reason: str) -> ValueError:
    with open(path, 'rb') as f:
        head = f.read(4096)
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        text = ''
    hint = (' It looks like a BERT WordPiece vocab.txt: load it with beitmm.WordPieceTokenizer.'
            if '[CLS]' in text or '[PAD]' in text else '')
    return ValueError(f'{path!r} is not a SentencePiece model (expected a binary ModelProto such as BEiT-3\'s '
                      f'beit3.spm; {reason}).{hint}')


@TEXT_TOKENIZERS.register_module()
class SentencePieceTokenizer(BaseTextTokenizer):
    """XLM-R / BEiT-3 tokenizer of a SentencePiece model, identical to ``transformers.XLMRobertaTokenizer``.

    ``encode("a photo")`` gives ``[0, ..., 2]``; ``encode_batch`` pads with ``<pad>`` (1).

    Args:
        model_file: The SentencePiece model (``beit3.spm``, ``sentencepiece.bpe.model``, or ``*.model`` from
            ``tools/misc/train_text_tokenizer.py``); a ``'pkg://PACKAGE/REL/PATH'`` names one inside an installed
            package.
    """

    def __init__(self, model_file: str) -> None:
        super().__init__()
        self.vocab_file = resolve_package_path(osp.expanduser(str(model_file)))
        if not osp.isfile(self.vocab_file):
            raise FileNotFoundError(f'SentencePiece model {self.vocab_file!r} does not exist (expected a SentencePiece '
                                    "model file such as BEiT-3's beit3.spm, or one trained by "
                                    'tools/misc/train_text_tokenizer.py)')
        spm = require('sentencepiece', 'beitmm.SentencePieceTokenizer')
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.Load(self.vocab_file)
        except (RuntimeError, OSError) as e:
            raise _not_a_model(self.vocab_file, f'sentencepiece says: {str(e).strip()}') from e
        if len(self._sp) < 3:
            raise _not_a_model(self.vocab_file, f'it parses to {len(self._sp)} pieces')
        self._setup()
        shadowed = self.spm_layout_warnings()
        if shadowed:
            print_log(f'{self.vocab_file}: not the XLM-R layout (spm ids 0-2 = <unk>, <s>, </s>), so some pieces '
                      f'can never be produced: {"; ".join(shadowed)}', logger='current', level=logging.WARNING)

    def _setup(self) -> None:
        n = len(self._sp)
        self.bos_id, self.pad_id, self.eos_id, self.unk_id = 0, 1, 2, 3
        self.mask_id = n + FAIRSEQ_OFFSET
        self.vocab_size = self.num_ids = n + FAIRSEQ_OFFSET + 1
        self._special_to_id: Dict[str, int] = dict(FAIRSEQ_SPECIALS, **{'<mask>': self.mask_id})
        self._id_to_special = {i: t for t, i in self._special_to_id.items()}
        specials = sorted(self._special_to_id, key=len, reverse=True)
        self._split = re.compile('(' + '|'.join(re.escape(t) for t in specials) + ')')

    def spm_layout_warnings(self) -> List[str]:
        """Pieces the XLM-R convention shadows: spm ids 0-2 must be ``<unk>``, ``<s>``, ``</s>`` (fairseq's layout).

        ``XLMRobertaTokenizer`` applies the offset whatever the model holds, so a real piece at spm id 0, 1 or 2
        can never be produced (empty for BEiT-3's and XLM-R's models and for the training tool's).
        """
        sp = self._sp
        return [f'spm id {i} is {sp.IdToPiece(i)!r}, read as {self._id_to_special[i + FAIRSEQ_OFFSET]!r}'
                for i in range(min(3, len(sp))) if not (sp.IsControl(i) or sp.IsUnknown(i) or sp.IsUnused(i))]

    def _chunks(self, text: str) -> List[str]:
        check_text(text, f'{type(self).__name__}: text')  # SentencePiece's C++ cast error names no text
        chunks = self._split.split(text)  # even: text, odd: special tokens
        for i in range(1, len(chunks), 2):
            if chunks[i] == '<mask>' and chunks[i - 1]:  # <mask> is lstrip=True in transformers
                chunks[i - 1] = chunks[i - 1].rstrip()
        return chunks

    def tokenize(self, text: str) -> List[str]:
        """SentencePiece pieces of ``text`` (special tokens written in it kept whole), no ``<s>`` / ``</s>``."""
        out: List[str] = []
        for i, chunk in enumerate(self._chunks(text)):
            if i % 2:
                out.append(chunk)
            elif chunk:
                out.extend(self._sp.encode(chunk, out_type=str))
        return out

    def encode_plain(self, text: str) -> List[int]:
        """Ids of ``text`` without ``<s>`` / ``</s>`` (spm id + 1; spm's unknown id 0 becomes ``<unk>``)."""
        out: List[int] = []
        for i, chunk in enumerate(self._chunks(text)):
            if i % 2:
                out.append(self._special_to_id[chunk])
            elif chunk:
                out.extend(j + FAIRSEQ_OFFSET if j else self.unk_id for j in self._sp.encode(chunk))
        return out

    def id_to_piece(self, index: int) -> str:
        """The piece of one id; an id outside the vocabulary (e.g. an unused embedding row) reads as ``<unk>``."""
        if index in self._id_to_special:
            return self._id_to_special[index]
        if not 0 <= index < self.vocab_size:
            return '<unk>'
        return self._sp.IdToPiece(index - FAIRSEQ_OFFSET)

    def piece_to_id(self, piece: str) -> int:
        """The id of one piece, as ``XLMRobertaTokenizer.convert_tokens_to_ids`` (unknown pieces: ``<unk>``)."""
        if piece in self._special_to_id:
            return self._special_to_id[piece]
        spm_id = self._sp.PieceToId(piece)
        return spm_id + FAIRSEQ_OFFSET if spm_id else self.unk_id

    def pieces_to_text(self, pieces: List[str]) -> str:
        """``XLMRobertaTokenizer.convert_tokens_to_string``: pieces joined, ``▁`` read as a space, stripped."""
        return ''.join(pieces).replace(SPIECE_UNDERLINE, ' ').strip()

    def decode(self, ids: IdList, skip_special_tokens: bool = True) -> str:
        """Text of one sequence of ids, as ``XLMRobertaTokenizer.decode`` gives it.

        Args:
            ids: Ids (list or 1-D tensor).
            skip_special_tokens: Drop ``<s>``, ``</s>``, ``<pad>``, ``<unk>`` and ``<mask>``.

        Returns:
            The pieces joined, ``▁`` read as a space, stripped.
        """
        pieces = [self.id_to_piece(i) for i in self._as_list(ids)]
        if skip_special_tokens:
            pieces = [p for p in pieces if p not in self._special_to_id]
        return self.pieces_to_text(pieces)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_sp'] = self._sp.serialized_model_proto()
        del state['_split']
        return state

    def __setstate__(self, state: dict) -> None:
        spm = require('sentencepiece', 'beitmm.SentencePieceTokenizer')
        proto = state.pop('_sp')
        self.__dict__.update(state)
        self._sp = spm.SentencePieceProcessor()
        self._sp.LoadFromSerializedProto(proto)
        self._setup()
