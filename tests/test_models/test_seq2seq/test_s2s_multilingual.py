"""Multilingual s2s-ft (XLM-R conventions) on real Russian / Bulgarian / English text from gensim's test data.

A SentencePiece model is trained here in XLM-R's layout on ~950 real lines; its ids and output text are checked
against ``transformers.XLMRobertaTokenizer`` (the tokenizer s2s-ft's ``xlm-roberta`` branch uses), and the shipped
XLM-R config, shrunk, learns to copy Cyrillic phrases and writes them back exactly through its decoding path.
"""
import bz2
import importlib.util
import os.path as osp
import re
import unicodedata

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from beitmm.models.seq2seq.s2s_text import ignore_word_ids, s2s_detokenize
from beitmm.registry import MODELS
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import shrink_s2s_config
from beitmm.text import SentencePieceTokenizer, train_sentencepiece

_SPEC = importlib.util.find_spec('gensim')  # requirements/realdata.txt; gensim itself is never imported
DATA = osp.join(list(_SPEC.submodule_search_locations)[0], 'test', 'test_data') if _SPEC else ''
pytestmark = pytest.mark.skipif(not osp.isdir(DATA), reason='gensim test data missing: '
                                'pip install --no-deps -r requirements/realdata.txt')
CYRILLIC = re.compile('[а-яА-ЯёЁ]')


def _russian() -> list:
    """The 20 sentences of crime-and-punishment.txt (Dostoevsky, the novel's opening), single-spaced."""
    with open(osp.join(DATA, 'crime-and-punishment.txt'), encoding='utf-8') as f:
        text = ' '.join(f.read().split())
    return re.split(r'(?<=[.!?]) ', text)


def _bulgarian() -> list:
    """Lines of the Bulgarian Wikipedia dump (UTF-16 XML) that hold Cyrillic words."""
    text = bz2.open(osp.join(DATA, 'bgwiki-latest-pages-articles-shortened.xml.bz2')).read().decode('utf-16')
    return [' '.join(line.split()) for line in text.splitlines() if re.search('[а-я]{4}', line)]


@pytest.fixture(scope='module')
def spm_file(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('xlmr-spm')
    with open(osp.join(DATA, 'lee_background.cor'), encoding='utf-8') as f:
        english = [line.strip() for line in f if line.strip()]
    lines = _russian() + _bulgarian() + english
    assert len(lines) > 900
    (root / 'corpus.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return train_sentencepiece([str(root / 'corpus.txt')], str(root / 'tiny.spm'), vocab_size=1000,
                               character_coverage=1.0, hard_vocab_limit=False, log=None)


def _clean(lines: list) -> list:
    """Texts SentencePiece's nmt_nfkc normalizer (XLM-R's) leaves as they are: no wiki markup, NFKC-stable."""
    return [t for t in lines if CYRILLIC.search(t) and not re.search(r"[\[\]{}<>|&'=]", t)
            and unicodedata.normalize('NFKC', t) == t]


def test_fairseq_ids_and_text_equal_xlm_roberta_tokenizer(spm_file):
    hf = pytest.importorskip('transformers').XLMRobertaTokenizer(vocab_file=spm_file)
    tok = SentencePieceTokenizer(spm_file)
    assert (tok.bos_id, tok.pad_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3) == (
        hf.cls_token_id, hf.pad_token_id, hf.sep_token_id, hf.unk_token_id)
    assert tok.mask_id == hf.mask_token_id == tok.num_ids - 1 and tok.vocab_size == hf.vocab_size
    texts = _clean(_russian()) + _clean(_bulgarian())[:40]
    assert len(texts) >= 50
    for text in texts:
        ids = tok.encode(text)
        assert ids == hf.encode(text)  # <s> pieces + 1 </s>
        # decode_seq2seq.py's xlm-roberta output: tokens up to </s>, convert_tokens_to_string
        official = hf.convert_tokens_to_string(hf.convert_ids_to_tokens(ids[1:-1]))
        assert s2s_detokenize(tok, ids[1:] + [tok.pad_id, 7]) == official == text  # lossless Cyrillic
    assert tok.piece_to_id('.') == hf.convert_tokens_to_ids('.') != tok.unk_id
    assert ignore_word_ids(tok, '.') == (hf.convert_tokens_to_ids('.'), )  # --forbid_ignore_word "." as s2s-ft
    unk = s2s_detokenize(tok, [tok.unk_id, tok.piece_to_id('▁да'), tok.eos_id])
    assert unk == hf.convert_tokens_to_string(['<unk>', '▁да'])  # <unk> kept, as s2s-ft writes it


def test_xlmr_config_learns_to_copy_cyrillic_and_decodes_it_exactly(spm_file, tmp_path):
    cfg = Config.fromfile(config_path('s2s/s2s-ft-pseudo-masked_xlmr-b_xsum.py'))
    shrink_s2s_config(cfg, str(tmp_path), str(tmp_path / 'work'), num_beams=3)
    tok = SentencePieceTokenizer(spm_file)
    cfg.model.tokenizer.model_file = spm_file
    cfg.model.backbone.update(vocab_size=tok.num_ids, hidden_dropout=0., attn_dropout=0., max_position_embeddings=48)
    cfg.model.update(max_source_len=24, max_target_len=16, ngram_ignore_words=('.', ))
    assert cfg.model.backbone.type_vocab_size == 0 and cfg.model.backbone.position_offset == 2
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    phrases = ['Он был должен', 'молодой человек вышел', 'под вечер', 'к мосту']  # from the novel's opening
    assert all(len(tok.encode_plain(p)) < 16 for p in phrases)  # whole targets (15 pieces + </s> at most)
    samples = [DataSample(src=p, tgt=p) for p in phrases]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, above all on a shared machine
    try:
        for _ in range(150):
            loss = model(data_samples=samples, mode='loss')['loss']
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    sources = model._tokenize(samples, with_target=False)[0]
    assert sources[0][0] == 0 and sources[0][-1] == 2  # <s> source </s>
    cached, full = model.generate(sources), model.generate(sources, use_cache=False)
    assert torch.equal(cached.tokens, full.tokens)
    assert [s.pred_text for s in model(data_samples=samples, mode='predict')] == phrases
