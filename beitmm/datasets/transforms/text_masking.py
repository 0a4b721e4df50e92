"""Text masking for masked language / data modeling as a data transform, and the packing of pretraining samples.

``MaskText`` tokenizes with a beitmm text tokenizer, truncates and pads to ``max_len``, chooses ``mask_ratio`` of the
real non-special tokens (uniformly, or whole words) and corrupts them 80 / 10 / 10 with :func:`beitmm.text.masking.
corrupt`, the function the models use. Its draws come from torch's global generator, which the pretraining loader
seeds per sample (``beitmm.datasets.samplers.seeded_random``), so masks do not depend on the worker count or a resume.
"""
import logging
import multiprocessing
from multiprocessing.context import get_spawning_popen
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from beitmm.registry import TEXT_TOKENIZERS, TRANSFORMS
from beitmm.text import SentencePieceTokenizer, WordPieceTokenizer
from beitmm.text.masking import corrupt, select_tokens, word_starts

from .formatting import _to_chw

IGNORE_INDEX = -100  # mlm_labels where nothing is predicted (torch cross_entropy's default ignore_index)


def _word_scheme(tokenizer) -> str:
    if isinstance(tokenizer, SentencePieceTokenizer):
        return 'sentencepiece'
    if isinstance(tokenizer, WordPieceTokenizer):
        return 'wordpiece'
    raise TypeError(f'whole_word=True needs a SentencePiece or WordPiece tokenizer, got {type(tokenizer).__name__}')


@TRANSFORMS.register_module()
class MaskText(BaseTransform):
    """Tokenize ``results[text_key]`` and mask it for MLM (BERT 80 / 10 / 10, whole words optional).

    Added keys (torch tensors of length ``max_len``): ``text_ids`` (long, ``[bos] ... [eos]`` then padding),
    ``padding_mask`` (bool, True at padding), ``masked_text_ids`` (long, the corrupted input) and ``mlm_labels``
    (long, the original id at predicted positions, -100 elsewhere).

    Args:
        tokenizer: Config of a ``TEXT_TOKENIZERS`` tokenizer (``beitmm.SentencePieceTokenizer`` /
            ``beitmm.WordPieceTokenizer``).
        max_len: Tokens per text, special tokens included; longer texts are cut (counted by the tokenizer).
        mask_ratio: Fraction of the real non-special tokens predicted, in [0, 1) (BEiT-3: 0.15 for texts, 0.5 in
            pairs); at least one per non-empty text when > 0. Exactly ``round(ratio * n)`` tokens (a choice, as
            ``beitmm.TextMaskedLM``; HF's collators draw each token with probability ``ratio``).
        whole_word: Mask whole words ('▁' starts a SentencePiece word, '##' continues a WordPiece one); words
            holding an unknown-token piece are left out, as the token-level masking leaves out that piece.
        budget_over: ``'real'``: the budget above over the real tokens (beitmm). ``'padded'`` (whole words only):
            VLMo's draw, HF ``DataCollatorForWholeWordMask`` on the padded ids (``vlmo/datamodules/
            datamodule_base.py:57-65``, ``vlmo/datasets/base_dataset.py:114-120``): ``max(1, round(ratio *
            max_len))`` tokens drawn by whole words among every position but [CLS] / [SEP] (each [PAD] a word of its
            own), then picks on padding or special tokens dropped; same mean rate over full-length texts, short
            texts get fewer (often none).
        mask_prob: Share of predicted tokens replaced by the mask id (0.8).
        random_prob: Share replaced by a random non-special id (0.1); the rest are kept.
        text_key: Key of the text in the results.
        on_empty: An empty (or all-whitespace) text: ``'skip'`` (warn, count, return None so the loader takes
            another sample) or ``'error'``.
    """

    def __init__(self, tokenizer: dict, max_len: int = 64, mask_ratio: float = 0.15, whole_word: bool = False,
                 mask_prob: float = 0.8, random_prob: float = 0.1, text_key: str = 'text',
                 on_empty: str = 'skip', budget_over: str = 'real') -> None:
        if not 0 <= mask_ratio < 1:
            raise ValueError(f'MaskText: mask_ratio must be in [0, 1), got {mask_ratio}')
        if not (0 <= mask_prob and 0 <= random_prob and mask_prob + random_prob <= 1):
            raise ValueError(f'MaskText: need mask_prob, random_prob >= 0 and mask_prob + random_prob <= 1, got '
                             f'{mask_prob}, {random_prob}')
        if on_empty not in ('skip', 'error'):
            raise ValueError(f"MaskText: on_empty must be 'skip' or 'error', got {on_empty!r}")
        if budget_over not in ('real', 'padded') or budget_over == 'padded' and not whole_word:
            raise ValueError(f"MaskText: budget_over must be 'real' or 'padded' (whole_word=True only: VLMo's "
                             f'whole-word collator), got {budget_over!r} with whole_word={whole_word}')
        self.budget_over = budget_over
        self.tokenizer = TEXT_TOKENIZERS.build(tokenizer) if isinstance(tokenizer, dict) else tokenizer
        if not isinstance(max_len, int) or max_len < 3:
            raise ValueError(f'MaskText: max_len must be an int >= 3 (bos, a token, eos), got {max_len!r}')
        self.max_len, self.mask_ratio, self.whole_word = max_len, float(mask_ratio), whole_word
        self.mask_prob, self.random_prob = float(mask_prob), float(random_prob)
        self.text_key, self.on_empty = text_key, on_empty
        self.scheme = _word_scheme(self.tokenizer) if whole_word else None
        special = set(self.tokenizer.special_ids.values())
        self.special = sorted(special)
        self.random_ids = torch.tensor([i for i in range(self.tokenizer.num_ids) if i not in special])
        self._empty = multiprocessing.Value('q', 0)  # shared with forked dataloader workers

    @property
    def num_empty(self) -> int:
        """Empty texts skipped so far by this transform in all processes sharing its counter."""
        return int(self._empty.value) if self._empty is not None else 0

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if get_spawning_popen() is None:  # only process start-up may pickle a shared counter
            state['_empty'] = None
        return state

    def _skip_empty(self, results: dict) -> None:
        where = results.get('img_path') or results.get('source') or results.get('sample_idx')
        if self.on_empty == 'error':
            raise ValueError(f'MaskText: empty text in sample {where!r} (key {self.text_key!r}); remove it from the '
                             "data or set on_empty='skip'")
        total = 1
        if self._empty is not None:
            with self._empty.get_lock():
                self._empty.value += 1
                total = self._empty.value
        print_log(f'Skipped a sample with an empty text: {where!r} ({total} skipped so far)', logger='current',
                  level=logging.WARNING)

    def _words(self, text: str, n: int) -> Optional[list]:
        if not self.whole_word:
            return None
        starts = word_starts(self.tokenizer.tokenize(text), self.scheme)[:n]
        return np.cumsum(starts).tolist()  # word number of each piece

    def transform(self, results: dict) -> Optional[dict]:
        """Add the token ids, the padding mask, the corrupted ids and the MLM labels of one text.

        Args:
            results: Sample dict with the text under ``text_key``.

        Returns:
            dict | None: ``results`` with the text keys; None for an empty text with ``on_empty='skip'``.
        """
        text = results.get(self.text_key)
        if not isinstance(text, str):
            raise TypeError(f'MaskText: sample {results.get("img_path") or results.get("source")!r} has no text '
                            f'{self.text_key!r} (got {type(text).__name__})')
        if not text.strip():
            self._skip_empty(results)
            return None
        plain = self.tokenizer.encode_plain(text)
        batch = self.tokenizer.pad_batch([[self.tokenizer.bos_id] + plain + [self.tokenizer.eos_id]],
                                         self.max_len, 'warn', 'max_length')
        ids, padding = batch['input_ids'][0], batch['padding_mask'][0]  # [L]
        n = min(len(plain), self.max_len - 2)  # real pieces kept (between bos and eos)
        words = self._words(text, len(plain))
        if self.budget_over == 'padded':
            chosen = self._padded_draw(ids, words, n)
        else:
            candidates = [1 + i for i in range(n) if int(ids[1 + i]) not in self.special]
            cand_words = None
            if words is not None:  # a word with a special piece (an unknown character) is not predicted at all
                spoiled = {words[i] for i in range(n) if int(ids[1 + i]) in self.special}
                candidates = [c for c in candidates if words[c - 1] not in spoiled]
                cand_words = [words[c - 1] for c in candidates]
            chosen = select_tokens(self.max_len, candidates, self.mask_ratio, cand_words)
        keep = 1 - self.mask_prob - self.random_prob
        results['text_ids'] = ids
        results['padding_mask'] = padding
        results['masked_text_ids'] = corrupt(ids, chosen, self.tokenizer.mask_id, self.random_ids, keep_prob=keep,
                                             random_prob=self.random_prob)
        results['mlm_labels'] = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
        return results

    def _padded_draw(self, ids: torch.Tensor, words: list, n: int) -> torch.Tensor:
        """VLMo's whole-word draw over the padded ids (``budget_over='padded'``): bool [max_len]."""
        eos = n + 1  # [CLS] at 0, the real pieces, [SEP], then padding
        candidates = [i for i in range(1, self.max_len) if i != eos]
        last = words[n - 1] if n else 0
        cand_words = [words[i - 1] if i <= n else last + i for i in candidates]  # each [PAD] its own word
        budget = max(1, int(round(self.max_len * self.mask_ratio)))
        chosen = select_tokens(self.max_len, candidates, self.mask_ratio, cand_words, budget=budget)
        return chosen & ~torch.isin(ids, torch.tensor(self.special))  # picks on [PAD] / [UNK] dropped

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tokenizer={self.tokenizer!r}, max_len={self.max_len}, '
                f'mask_ratio={self.mask_ratio}, whole_word={self.whole_word}, budget_over={self.budget_over!r})')


@TRANSFORMS.register_module()
class PackPretrainInputs(BaseTransform):
    """Keep the model inputs of a pretraining sample as tensors.

    ``img`` (uint8 [3, H, W], RGB), ``mask`` (bool [h, w]), the ``MaskText`` keys, and any ``extra_keys`` (keys
    starting with ``img`` packed as images).

    Args:
        extra_keys: More keys to keep (e.g. ``img_tokenizer``, a second view for a VQ-KD tokenizer).
        to_rgb: Flip the channels of the images (mmcv decodes BGR) so the packed ``img`` is RGB.
    """

    TEXT_KEYS = ('text_ids', 'padding_mask', 'masked_text_ids', 'mlm_labels')

    def __init__(self, extra_keys=(), to_rgb: bool = True) -> None:
        self.extra_keys = tuple(extra_keys)
        self.to_rgb = to_rgb

    def transform(self, results: dict) -> dict:
        """Pack one sample.

        Args:
            results: Pipeline results.

        Returns:
            dict: The packed tensors (only the keys present in ``results``).
        """
        out = {}
        for key in ('img', ) + tuple(k for k in self.extra_keys if k.startswith('img')):
            if key in results:
                img = np.asarray(results[key], dtype=np.uint8)
                out[key] = _to_chw(img[..., ::-1] if self.to_rgb and img.ndim == 3 else img)
        if 'mask' in results:
            out['mask'] = torch.from_numpy(np.asarray(results['mask'], dtype=bool))
        for key in self.TEXT_KEYS + tuple(k for k in self.extra_keys if not k.startswith('img')):
            if key in results:
                out[key] = torch.as_tensor(results[key])
        return out
