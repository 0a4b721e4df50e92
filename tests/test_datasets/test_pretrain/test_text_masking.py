"""BERT 80/10/10 corruption, token / whole-word selection and the MaskText transform on seeded batches."""
import pytest
import torch

from beitmm.datasets.samplers import seeded_random
from beitmm.datasets.transforms import MaskText
from beitmm.testing.vl import tiny_tokenizer
from beitmm.text.masking import corrupt, select_tokens


def test_corrupt_80_10_10_proportions():
    ids = torch.ones(400_000, dtype=torch.long)  # id 1 is not among the random candidates: a change is visible
    select = torch.rand(ids.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    random_ids = torch.arange(5, 105)
    out = corrupt(ids, select, mask_id=3, random_ids=random_ids, generator=torch.Generator().manual_seed(1))
    n = select.sum().item()
    assert (out[~select] == 1).all()  # unselected tokens are untouched
    sel = out[select]
    assert abs((sel == 3).sum().item() / n - 0.8) < 0.005
    assert abs(((sel >= 5) & (sel < 105)).sum().item() / n - 0.1) < 0.003
    assert abs((sel == 1).sum().item() / n - 0.1) < 0.003
    counts = torch.bincount(sel[sel >= 5] - 5, minlength=100).float()
    assert counts.min() > 0.7 * counts.mean()  # random ids are drawn uniformly from the candidates


def test_select_tokens_counts_and_whole_words():
    g = torch.Generator().manual_seed(0)
    chosen = select_tokens(12, list(range(1, 11)), 0.3, generator=g)
    assert chosen.sum() == 3 and not chosen[0] and not chosen[11:].any()
    # words: [1 2] [3] [4 5 6] [7] [8 9 10]; budget round(10 * 0.5) = 5, never exceeded, only whole words
    words = [0, 0, 1, 2, 2, 2, 3, 4, 4, 4]
    groups = [[1, 2], [3], [4, 5, 6], [7], [8, 9, 10]]
    for seed in range(50):
        chosen = select_tokens(12, list(range(1, 11)), 0.5, words, generator=torch.Generator().manual_seed(seed))
        assert 1 <= chosen.sum() <= 5
        for group in groups:
            assert chosen[group].all() or not chosen[group].any(), (seed, chosen)


def _texts(pretrain_data):
    with open(pretrain_data['texts_file'], encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


@pytest.mark.parametrize('kind', ['spm', 'wp'])
@pytest.mark.parametrize('ratio', [0.15, 0.5])
def test_mask_text_statistics(pretrain_data, kind, ratio):
    t = MaskText(tiny_tokenizer(kind), max_len=48, mask_ratio=ratio)
    tok = t.tokenizer
    special = torch.tensor(sorted(tok.special_ids.values()))
    masked = candidates = n_mask_id = 0
    for i, text in enumerate(_texts(pretrain_data) * 4):
        with seeded_random((0, 1, i)):
            r = t(dict(text=text))
        ids, labels, inp, pad = r['text_ids'], r['mlm_labels'], r['masked_text_ids'], r['padding_mask']
        assert ids.shape == (48, ) and ids[0] == tok.bos_id and ids[~pad][-1] == tok.eos_id
        assert (ids[pad] == tok.pad_id).all()
        pred = labels != -100
        n = (~pad & ~torch.isin(ids, special)).sum().item()
        assert pred.sum().item() == max(1, round(n * ratio))  # exact count per text
        assert not (pred & (pad | torch.isin(ids, special))).any()
        assert (labels[pred] == ids[pred]).all() and (inp[~pred] == ids[~pred]).all()
        masked += pred.sum().item()
        candidates += n
        n_mask_id += (inp[pred] == tok.mask_id).sum().item()
    assert abs(masked / candidates - ratio) < 0.03
    assert abs(n_mask_id / masked - 0.8) < 0.08


@pytest.mark.parametrize('kind', ['spm', 'wp'])
def test_mask_text_whole_words_are_whole(pretrain_data, kind):
    t = MaskText(tiny_tokenizer(kind), max_len=64, mask_ratio=0.4, whole_word=True)
    tok = t.tokenizer
    multi = 0
    for i, text in enumerate(_texts(pretrain_data)):
        pieces = tok.tokenize(text)
        if len(pieces) > 62:  # truncated: its last word may be cut
            continue
        words, w = [], -1  # word of each piece, from the pieces (the tokenizers' conventions)
        for j, p in enumerate(pieces):
            w += (p.startswith('\u2581') if kind == 'spm' else not p.startswith('##')) or j == 0
            words.append(w)
        with seeded_random((0, 2, i)):
            r = t(dict(text=text))
        pred = (r['mlm_labels'] != -100)[1:1 + len(pieces)].tolist()
        for word in set(words):
            inside = [pred[j] for j in range(len(pieces)) if words[j] == word]
            unknown = any(int(r['text_ids'][1 + j]) == tok.unk_id for j in range(len(pieces)) if words[j] == word)
            assert not (unknown and any(inside))
            assert all(inside) or not any(inside), (text, pieces, pred)
            multi += all(inside) and len(inside) > 1
    assert multi > 0  # some masked words span several pieces


def test_mask_text_is_a_function_of_the_seed():
    t = MaskText(tiny_tokenizer('spm'), max_len=32, mask_ratio=0.5)
    outs = []
    for _ in range(2):
        with seeded_random((3, 1, 7)):
            outs.append(t(dict(text='a red circle on the left of a blue square'))['masked_text_ids'])
    assert torch.equal(outs[0], outs[1])
    with seeded_random((3, 1, 8)):
        other = t(dict(text='a red circle on the left of a blue square'))['masked_text_ids']
    assert not torch.equal(outs[0], other)


def test_mask_text_empty_and_bad_settings():
    t = MaskText(tiny_tokenizer('wp'), max_len=16)
    before = t.num_empty
    assert t(dict(text='   ', img_path='x.tar:0001.jpg')) is None
    assert t.num_empty == before + 1
    with pytest.raises(ValueError, match="x.tar:0001.jpg"):
        MaskText(tiny_tokenizer('wp'), on_empty='error')(dict(text='', img_path='x.tar:0001.jpg'))
    with pytest.raises(ValueError, match='mask_ratio'):
        MaskText(tiny_tokenizer('wp'), mask_ratio=1.0)
    with pytest.raises(TypeError, match="'caption'"):
        MaskText(tiny_tokenizer('wp'), text_key='caption')(dict(text='a'))


def _hf_whole_word_draw(tokens, ratio, rng):
    """VLMo's draw over padded tokens; returns the predicted positions.

    transformers 4.8.1 ``DataCollatorForWholeWordMask._whole_word_mask`` (data_collator.py:434-470) on the padded
    tokens, then ``mask_tokens`` dropping special and padding picks (:490-496); VLMo pads first
    (vlmo/datasets/base_dataset.py:114-120).
    """
    cand = []
    for i, token in enumerate(tokens):
        if token in ('[CLS]', '[SEP]'):
            continue
        if cand and token.startswith('##'):
            cand[-1].append(i)
        else:
            cand.append([i])
    rng.shuffle(cand)
    budget, covered = min(512, max(1, int(round(len(tokens) * ratio)))), []
    for group in cand:
        if len(covered) >= budget:
            break
        if len(covered) + len(group) <= budget:
            covered += group
    return [i for i in covered if tokens[i] not in ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')]


@pytest.mark.parametrize('n', [5, 8, 20])
def test_padded_budget_is_vlmos_whole_word_draw(n):
    """Review V7: MaskText(budget_over='padded') draws as VLMo on 40-token captions of n one-piece words.

    References: the hypergeometric law by hand (6 of the 38 non-[CLS] / [SEP] positions, n of them real) and VLMo's
    draw transcribed.
    """
    import math
    import random
    t = MaskText(tiny_tokenizer('wp'), max_len=40, mask_ratio=0.15, whole_word=True, budget_over='padded')
    words = [w for w in ('red', 'blue', 'circle', 'square', 'left', 'right', 'star', 'two') if
             t.tokenizer.tokenize(w) == [w]]
    text = ' '.join(words[i % len(words)] for i in range(n))
    tokens = ['[CLS]'] + t.tokenizer.tokenize(text) + ['[SEP]'] + ['[PAD]'] * (38 - n)
    assert len(tokens) == 40 and not any(p.startswith('##') for p in tokens)
    draws, rng, ours, hf = 300, random.Random(0), [], []
    for i in range(draws):
        with seeded_random((0, 3, i)):
            r = t(dict(text=text))
        pred = r['mlm_labels'] != -100
        assert not (pred & r['padding_mask']).any() and pred.sum() <= 6
        ours.append(int(pred.sum()))
        hf.append(len(_hf_whole_word_draw(tokens, 0.15, rng)))
    mean, none = 6 * n / 38, math.comb(38 - n, 6) / math.comb(38, 6)  # hypergeometric: 6 draws, n real of 38
    for counts in (ours, hf):
        assert abs(sum(counts) / draws - mean) < 0.17  # about 3 standard errors
        assert abs(sum(c == 0 for c in counts) / draws - none) < 0.08
    real = MaskText(tiny_tokenizer('wp'), max_len=40, mask_ratio=0.15, whole_word=True)  # beitmm's exact budget
    with seeded_random((0, 4, 0)):
        assert int((real(dict(text=text))['mlm_labels'] != -100).sum()) == max(1, round(0.15 * n))
    with pytest.raises(ValueError, match='whole_word=True only'):
        MaskText(tiny_tokenizer('wp'), budget_over='padded')
