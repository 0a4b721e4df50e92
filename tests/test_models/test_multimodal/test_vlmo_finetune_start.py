"""VLMo's fine-tuning start: the pretrained file fills the whole task model, the task classifiers start fresh.

Reference: VLMo ``vlmo_module.py:136,164-173,229-336`` (``load_pretrained_weight``): the pooler, and for retrieval
the ITC projections and ``logit_scale``, are built before the file is loaded with ``strict=False``, so they take the
file's weights; ``vqa_classifier`` / ``nlvr2_classifier`` are built afterwards (``:177-201``) and start from their
init; NLVR2's third token type copies row 1 of the loaded table. The files are in VLMo's key layout.
"""
import pytest
import torch
import torch.nn.functional as F

from beitmm.checkpoint import load_model_checkpoint, load_pretrained_backbone
from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

C, VOCAB = 32, 160
TEXTS = ['a red circle', 'two blue squares']
# VLMo's task weights beside the backbone (heads.py, vlmo_module.py), in a stage-3 file and fine-tuned files
HEADS = {'pooler.dense.weight': (C, C), 'pooler.dense.bias': (C, ), 'itc_text_proj.fc.weight': (C, C),
         'itc_image_proj.fc.weight': (C, C), 'itc_vl_text_proj.fc.weight': (C, C),
         'itc_vl_image_proj.fc.weight': (C, C), 'logit_scale': (), 'logit_vl_scale': (),
         'mlm_score.transform.dense.weight': (C, C), 'mlm_score.transform.dense.bias': (C, ),
         'mlm_score.transform.LayerNorm.weight': (C, ), 'mlm_score.transform.LayerNorm.bias': (C, ),
         'mlm_score.decoder.weight': (VOCAB, C), 'mlm_score.bias': (VOCAB, ), 'itm_score.fc.weight': (2, C),
         'itm_score.fc.bias': (2, ), 'vqa_classifier.0.weight': (2 * C, C), 'vqa_classifier.0.bias': (2 * C, ),
         'vqa_classifier.1.weight': (2 * C, ), 'vqa_classifier.1.bias': (2 * C, ),
         'vqa_classifier.3.weight': (5, 2 * C), 'vqa_classifier.3.bias': (5, )}


@pytest.fixture(scope='module')
def vlmo_file(tmp_path_factory):
    """A VLMo-layout ``{'state_dict': ...}`` file: backbone keys, derived index keys and task weights, all random."""
    g = torch.Generator().manual_seed(0)
    backbone = MODELS.build(tiny_backbone('vlmo'))
    state = {k: (v.clone() if v.dtype == torch.long else 0.3 * torch.randn(v.shape, generator=g))
             for k, v in backbone.state_dict().items()}
    state.update({k: torch.randn(s, generator=g) for k, s in HEADS.items()})
    state.update({k: torch.zeros(3, 3, dtype=torch.long) for k in (
        'relative_position_index', 'text_relative_position_index', 'text_imag_relative_position_index')})
    path = str(tmp_path_factory.mktemp('vlmo') / 'vlmo_base_patch16_224.pt')
    torch.save({'state_dict': state}, path)
    return path, state


def _start(kind, path, logged=None, monkeypatch=None, **kwargs):
    if monkeypatch is not None:
        monkeypatch.setattr('beitmm.checkpoint.load.print_log', lambda msg, **kw: logged.append(msg))
    backbone = tiny_backbone('vlmo', init_cfg=dict(type='Pretrained', checkpoint=path),
                             num_token_types=3 if kind == 'NLVR2Classifier' else 2)
    torch.manual_seed(0)
    model = MODELS.build(dict(type=f'beitmm.{kind}', backbone=backbone, tokenizer=tiny_tokenizer('wordpiece'),
                              max_text_len=12, **kwargs))
    model.init_weights()
    return model.eval()


def _backbone_cls(model, state, **inputs):
    """The text [CLS] of the file's own backbone (loaded alone): the hand reference of what the heads read."""
    ref = MODELS.build(tiny_backbone('vlmo', num_token_types=model.backbone.token_type_embeddings.num_embeddings))
    load_pretrained_backbone(ref, {'state_dict': state})
    return ref.eval()(**inputs)[-1][:, 0]


def test_vqa_start_takes_the_pretrained_pooler_and_builds_a_fresh_classifier(vlmo_file, monkeypatch):
    path, state = vlmo_file
    logged = []
    model = _start('VQAClassifier', path, logged, monkeypatch, num_labels=5)
    table = '\n'.join(logged)  # the load table and its warning
    torch.testing.assert_close(model.pooler.dense.weight, state['pooler.dense.weight'])
    torch.testing.assert_close(model.pooler.dense.bias, state['pooler.dense.bias'])
    head = model.vqa_classifier  # built after the load in VLMo: its init, not the file's
    assert not torch.allclose(head[0].weight, state['vqa_classifier.0.weight'])
    assert torch.equal(head[1].weight, torch.ones(2 * C)) and float(head[0].weight.detach().std()) < 0.03
    img, (ids, pad) = torch.randn(2, 3, 32, 32), model.tokenize(TEXTS)
    cls = _backbone_cls(model, state, image=img, text=ids, text_padding_mask=pad)
    expected = torch.tanh(cls @ state['pooler.dense.weight'].t() + state['pooler.dense.bias'])
    with torch.no_grad():
        torch.testing.assert_close(model.pooler(model.fusion_cls(model.encode(img, ids, pad))), expected)
    assert 'taken from the checkpoint beside the backbone: pooler' in table
    assert all(f're-initialised  vqa_classifier.{k}' in table for k in ('0.weight', '1.weight', '3.weight'))
    assert 'itc_text_proj.fc.weight' in table and 'not in the target model' in table  # dropped, listed
    load_model_checkpoint(model, path)  # init_model's path (evaluating a fine-tuned file): classifier copied too
    torch.testing.assert_close(model.vqa_classifier[0].weight, state['vqa_classifier.0.weight'])


def test_retrieval_start_takes_the_pretrained_itc_projections_and_temperature(vlmo_file):
    path, state = vlmo_file
    model = _start('DualEncoderRetriever', path)
    for name in ('itc_text_proj.fc.weight', 'itc_image_proj.fc.weight', 'logit_scale'):
        torch.testing.assert_close(model.state_dict()[name], state[name])
    ids, pad = model.tokenize(TEXTS)
    with torch.no_grad():
        txt = F.normalize(_backbone_cls(model, state, text=ids, text_padding_mask=pad)
                          @ state['itc_text_proj.fc.weight'].t(), dim=-1)
        torch.testing.assert_close(model.text_features(ids, pad), txt)
    rerank = _start('DualEncoderRetriever', path, rerank_topk=2)  # the re-ranker's ITM head comes from the file
    torch.testing.assert_close(rerank.itm_score.fc.weight, state['itm_score.fc.weight'])


def test_nlvr2_start_pooler_from_the_file_type_2_as_type_1_and_a_fresh_classifier(vlmo_file):
    path, state = vlmo_file
    model = _start('NLVR2Classifier', path)
    torch.testing.assert_close(model.pooler.dense.weight, state['pooler.dense.weight'])
    rows = state['token_type_embeddings.weight']
    torch.testing.assert_close(model.backbone.token_type_embeddings.weight, torch.cat([rows, rows[1:2]]))
    assert torch.equal(model.nlvr2_classifier[1].weight, torch.ones(2 * C))


def test_backbone_only_start_is_kept_for_beit3_and_on_request(vlmo_file):
    path, state = vlmo_file
    beit3 = MODELS.build(dict(type='beitmm.VQAClassifier', backbone=tiny_backbone('beit3'),
                              tokenizer=tiny_tokenizer('spm'), num_labels=5))
    assert beit3.pretrained_heads is False  # unilm BEiT-3 fine-tuning: backbone weights only (unchanged)
    model = _start('VQAClassifier', path, num_labels=5, pretrained_heads=False)
    assert not torch.allclose(model.pooler.dense.weight, state['pooler.dense.weight'])
    torch.testing.assert_close(model.backbone.transformer.norm.weight, state['transformer.norm.weight'])
