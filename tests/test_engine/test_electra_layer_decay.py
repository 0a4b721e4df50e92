"""The ELECTRA GLUE configs build ELECTRA's layer-wise lr decay (google-research/electra ``_get_layer_lrs``).

Reference: ``model/optimization.py`` gives depth 0 to ``/embeddings/`` and ``/embeddings_project/``, ``i + 1`` to
``encoder/layer_i/``, ``n_layers + 2`` to ``task_specific/`` and the lr ``lr * decay ** (n_layers + 2 - depth)``;
``configure_finetuning.py`` sets ``layerwise_lr_decay = 0.8`` (small / base). For ELECTRA-Small (12 layers) at the
configs' lr 3e-4 the table below is written out by hand: 3e-4 * 0.8^14, 0.8^13, 0.8^2, 0.8 (pooler: depth 13, the
depth ELECTRA's removed pooler had) and 1.
"""
import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from beitmm.registry import MODELS
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import tiny_tokenizer

CONFIGS = ['glue/electra-small_glue-sst2.py', 'glue/electra-small_glue-stsb.py', 'glue/electra-small_polarity.py']
# lr of each parameter: 3e-4 * 0.8 ** (14 - depth), written out (0.8^14 = 0.04398046511104, 0.8^13 = 0.0549755813888)
EXPECTED_LR = {
    'backbone.embeddings.word_embeddings.weight': 1.3194139533312e-05,  # depth 0
    'backbone.embeddings.position_embeddings.weight': 1.3194139533312e-05,
    'backbone.embeddings.LayerNorm.weight': 1.3194139533312e-05,
    'backbone.embeddings_project.weight': 1.3194139533312e-05,  # depth 0 (ELECTRA-Small's 128 -> 256)
    'backbone.encoder.layer.0.attention.self.query.weight': 1.649267441664e-05,  # depth 1
    'backbone.encoder.layer.0.output.LayerNorm.bias': 1.649267441664e-05,
    'backbone.encoder.layer.11.intermediate.dense.weight': 1.92e-04,  # depth 12: 0.8^2
    'pooler.dense.weight': 2.4e-04,  # depth 13
    'classifier.weight': 3e-04,  # depth 14 (task_specific/)
    'classifier.bias': 3e-04,
}
# ELECTRA's exclude_from_weight_decay = ["LayerNorm", "layer_norm", "bias"]; weight_decay_rate 0.01 elsewhere
EXPECTED_WD = {'backbone.embeddings.word_embeddings.weight': 0.01, 'backbone.embeddings.LayerNorm.weight': 0.,
               'backbone.encoder.layer.0.output.LayerNorm.bias': 0., 'backbone.encoder.layer.0.attention.self.'
               'query.weight': 0.01, 'classifier.bias': 0., 'classifier.weight': 0.01}


@pytest.fixture(scope='module')
def tokenizer():
    return tiny_tokenizer('wordpiece')


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_electras_layer_lrs(name, tokenizer):
    cfg = Config.fromfile(config_path(name))
    assert cfg.optim_wrapper.paramwise_cfg == dict(layer_decay_rate=0.8)  # nothing of the base config's left
    cfg.model.backbone.init_cfg = None  # the ELECTRA-Small arch as configured; no checkpoint, a tiny vocabulary
    cfg.model.tokenizer = tokenizer
    with DefaultScope.overwrite_default_scope('beitmm'):
        model = MODELS.build(cfg.model)
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = optim.optimizer.param_groups
    lr = {n: g['lr'] for g in groups for n in g['param_names']}
    wd = {n: g['weight_decay'] for g in groups for n in g['param_names']}
    assert sorted(lr) == sorted(n for n, _ in model.named_parameters())  # every parameter, once
    for key, value in EXPECTED_LR.items():
        assert lr[key] == pytest.approx(value, rel=1e-12), key
    assert wd == {n: (0. if p.ndim == 1 else 0.01) for n, p in model.named_parameters()}
    for key, value in EXPECTED_WD.items():
        assert wd[key] == value, key
    assert len({g['lr'] for g in groups}) == 15  # depths 0-14: 12 layers + embeddings + pooler + classifier
    assert groups[0]['lr'] == 3e-4  # top group first: mmengine logs the nominal lr
    assert optim.clip_grad_kwargs == dict(max_norm=1.0)  # the base config's clipping (ELECTRA's clip_by_global_norm)


def test_bare_encoder_depths_match_electra():
    """Bare BertEncoder (no prefix): ELECTRA's depths; UniLM v2's shared rel_pos_bias in the top group (a choice)."""
    from beitmm.models.backbones import BertEncoder
    enc = BertEncoder(arch='tiny', vocab_size=40, max_position_embeddings=16, embedding_size=16, rel_pos_bins=8,
                      max_rel_pos=16)
    depth = {n: enc.get_layer_depth(n) for n, _ in enc.named_parameters()}
    assert {d[1] for d in depth.values()} == {5}  # 2 layers + 3
    assert depth['embeddings.word_embeddings.weight'][0] == depth['embeddings_project.bias'][0] == 0
    assert depth['encoder.layer.1.output.dense.weight'][0] == 2
    assert depth['rel_pos_bias.weight'][0] == 4
    assert enc.get_layer_depth('pooler.dense.weight', 'backbone.') == (3, 5)
    assert enc.get_layer_depth('classifier.weight', 'backbone.') == (4, 5)
