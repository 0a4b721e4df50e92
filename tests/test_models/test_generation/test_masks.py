"""Attention masks against visibility tables written out by hand (unilm BEiT3ForCaptioning, s2s-ft modeling.py).

Rows are queries, columns keys, 1 = may attend. None of the tables is derived from the implementation.
"""
import pytest
import torch

from beitmm.models.generation import (
    PREFIX,
    PSEUDO,
    TARGET,
    decode_step_mask,
    segment_attention_mask,
    seq2seq_layout,
    seq2seq_mask,
)


def _table(rows):
    return torch.tensor([[int(c) for c in r.replace(' ', '')] for r in rows], dtype=torch.bool)


# BEiT-3 captioning, 2 image tokens (I0 I1) + caption <s> w1 w2 w3: image<->image full, text->image full, text->text
# lower-triangular (self included), image->text blocked.
CAPTION = _table(['11 0000',   # I0
                  '11 0000',   # I1
                  '11 1000',   # <s>
                  '11 1100',   # w1
                  '11 1110',   # w2
                  '11 1111'])  # w3
# The same, the caption of sample 1 padded after w1 (w2, w3 padding): no query sees a padded key.
CAPTION_PADDED = _table(['11 0000',
                         '11 0000',
                         '11 1000',
                         '11 1100',
                         '11 1100',
                         '11 1100'])
# s2s-ft pseudo-masked (v2): source S0 S1 (S1 padding), targets T0 T1, pseudo P0 P1.
# S sees S; T_i sees S and T_j (j <= i); P_i sees S, T_j (j < i) and itself.
PSEUDO_TABLE = _table(['10 00 00',   # S0
                       '10 00 00',   # S1 (padding query: still a row of visible keys)
                       '10 10 00',   # T0
                       '10 11 00',   # T1
                       '10 00 10',   # P0
                       '10 10 01'])  # P1


def test_captioning_mask_is_the_hand_table():
    assert torch.equal(seq2seq_mask(2, 4)[0, 0], CAPTION)
    pad = torch.tensor([[False] * 4, [False, False, True, True]])
    mask = seq2seq_mask(2, 4, target_padding=pad)
    assert mask.shape == (2, 1, 6, 6) and mask.dtype == torch.bool
    assert torch.equal(mask[0, 0], CAPTION) and torch.equal(mask[1, 0], CAPTION_PADDED)


def test_pseudo_masked_mask_is_the_reference_table():
    mask = seq2seq_mask(2, 2, prefix_padding=torch.tensor([[False, True]]), pseudo=True)
    assert torch.equal(mask[0, 0], PSEUDO_TABLE)
    segments, steps = seq2seq_layout(2, 2, pseudo=True)
    assert segments.tolist() == [PREFIX, PREFIX, TARGET, TARGET, PSEUDO, PSEUDO]
    assert steps.tolist() == [0, 0, 0, 1, 0, 1]  # a pseudo token shares its target token's step


def test_decode_step_mask_is_the_last_rows_of_the_hand_table():
    # keys: I0 I1 <s> w1 | new: w2 (previous token), MASK at w3's place -> rows w2, w3 of CAPTION
    assert torch.equal(decode_step_mask(2, 2, 2)[0, 0], CAPTION[-2:])
    # first step of BEiT-3: [image; <s>, MASK] -> the top-left 4 x 4 of the table
    assert torch.equal(seq2seq_mask(2, 2)[0, 0], CAPTION[:4, :4])
    # a padded prefix (s2s-ft source) stays invisible in every step
    step = decode_step_mask(2, 1, 2, prefix_padding=torch.tensor([[False, True], [False, False]]))
    assert step[0, 0].tolist() == [[1, 0, 1, 1, 0], [1, 0, 1, 1, 1]]
    assert step[1, 0].tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]


def test_batched_labels_and_bad_input():
    seg = torch.tensor([[PREFIX, TARGET, TARGET], [PREFIX, PREFIX, TARGET]])
    steps = torch.tensor([[0, 0, 1], [0, 0, 0]])
    mask = segment_attention_mask(seg, steps)
    assert mask[0, 0].tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert mask[1, 0].tolist() == [[1, 1, 0], [1, 1, 0], [1, 1, 1]]
    with pytest.raises(ValueError, match='same shape'):
        segment_attention_mask(seg, steps[:, :2])
    with pytest.raises(ValueError, match='target_padding'):
        seq2seq_mask(2, 4, target_padding=torch.zeros(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match='key_padding'):
        segment_attention_mask(seg, steps, key_padding=torch.zeros(2, 3))
