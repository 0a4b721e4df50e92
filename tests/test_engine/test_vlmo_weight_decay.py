"""VLMo's weight-decay and head-lr rules in the VLMo / VL-BEiT schedules, against VLMo's set_schedule.

The optimizer of each shipped config is built (``optim_wrapper`` as the Runner builds it) for tiny task and
pretraining models; every trainable parameter's lr and weight decay must be the ones VLMo's rules give its name.
"""
import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from beitmm.models.algorithms.vlmo_pretrain import VLMO_TEXT_STAGE_TRAINABLE
from beitmm.registry import MODELS
from beitmm.testing.pretrain_models import tiny_mdm, tiny_vlmo
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

# VLMo vlmo_utils.py:222-232 (set_schedule): no weight decay iff the name contains one of these substrings;
# :233 and :248-270: names containing a head name get lr x lr_mult (VQA: 20, vlmo/config.py:262)
VLMO_NO_DECAY = ['bias', 'LayerNorm.bias', 'LayerNorm.weight', 'norm.bias', 'norm.weight', 'norm1.bias',
                 'norm1.weight', 'norm2.bias', 'norm2.weight']
VLMO_HEADS = ['vqa_classifier', 'nlvr2_classifier']


def vlmo_rule(name, lr, wd, lr_mult):
    """(lr, weight decay) of a parameter under VLMo's set_schedule."""
    decay = not any(nd in name for nd in VLMO_NO_DECAY)
    head = any(h in name for h in VLMO_HEADS)
    return lr * (lr_mult if head else 1), wd if decay else 0.


def _task(kind, **kw):
    backbone = tiny_backbone('vlmo', num_token_types=3 if kind == 'NLVR2Classifier' else 2)
    return MODELS.build(dict(type=f'beitmm.{kind}', backbone=backbone, tokenizer=tiny_tokenizer('wordpiece'), **kw))


def _pretrain(**kw):
    return MODELS.build(dict(type='beitmm.VLMoPretraining', **kw))


CASES = {
    'vlmo/vlmo-b_vqav2.py': (lambda: _task('VQAClassifier', num_labels=5), 20),
    'vlmo/vlmo-b_nlvr2.py': (lambda: _task('NLVR2Classifier'), 1),
    'vlmo/vlmo-b_coco-retrieval.py': (lambda: _task('DualEncoderRetriever', rerank_topk=2), 1),
    'vlmo/vlmo-b_pretrain-stage2_text.py': (lambda: _pretrain(backbone=tiny_vlmo(vlffn_start=2),
                                                         loss_weights=dict(textmlm=1.),
                                                         trainable=VLMO_TEXT_STAGE_TRAINABLE), 1),
    'vlmo/vlmo-b_pretrain-stage3_pairs.py': (lambda: _pretrain(backbone=tiny_vlmo(), loss_weights=dict(itc=1, itm=1,
                                                                                                mlm=1)), 1),
    'vlbeit/vlbeit-b_pretrain_vl-corpus.py': (lambda: MODELS.build(tiny_mdm('vlbeit')), 1),  # VLMo's schedule (choice)
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_vlmo_configs_decay_and_scale_as_vlmos_set_schedule(name):
    make, lr_mult = CASES[name]
    model = make()
    cfg = Config.fromfile(config_path(name)).optim_wrapper.to_dict()
    cfg['type'] = 'OptimWrapper'  # the pretraining fp16 wrapper needs a GPU; the groups are the constructor's
    cfg.pop('dtype', None)
    lr, wd = cfg['optimizer']['lr'], cfg['optimizer']['weight_decay']
    groups = {n: g for g in build_optim_wrapper(model, cfg).optimizer.param_groups for n in g['param_names']}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(groups) == trainable
    for n in trainable:
        assert (groups[n]['lr'], groups[n]['weight_decay']) == pytest.approx(vlmo_rule(n, lr, wd, lr_mult)), n
    # the differences from a type rule: these are decayed by VLMo, exempt by a type rule
    decayed = {n for n in trainable if groups[n]['weight_decay'] > 0}
    for part in ['norm2_text.weight', 'token_type_embeddings.weight'] + ([] if 'stage2' in name else ['gamma_1']):
        assert any(part in n for n in decayed), part
    assert not any('relative_position_bias_table' in n or 'q_bias' in n for n in decayed)
