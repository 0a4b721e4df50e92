"""Issue 29 (3): VL-BEiT / VLMo vision transfer configs take their pretraining checkpoints and train.

Each config's backbone, shrunk to the 2-layer, 32-wide VLMo of the tests, loads a VLMo stage-3 file in the official
layout (a Lightning ``state_dict`` with VLMo's task heads) and a beitmm VL-BEiT pretraining checkpoint
(``beitmm.MaskedDataModeling``: ``backbone.*`` beside the MIM / MLM heads and the tokenizer) with zero missing
backbone keys; the linear probe trains from one with its backbone unchanged. The fine-tuning and UperNet configs
are in the Runner smoke tests of tests/test_configs/test_recipe_smoke.py.
"""
import pytest
import torch
from mmengine.config import Config

from beitmm.checkpoint import load_pretrained_backbone
from beitmm.engine.runner import build_runner
from beitmm.registry import MODELS
from beitmm.testing.pretrain_models import TINY_VOCAB, tiny_mdm, tiny_vlmo
from beitmm.testing.shrink import config_path, tiny_cls_config, tiny_seg_config
from beitmm.testing.vl import TINY_VLMO

CONFIGS = ['vlbeit/vlbeit-b_in1k.py', 'vlbeit/upernet_vlbeit-b_ade20k.py', 'vlbeit/vlbeit-b_linear_in1k.py',
           'vlmo/vlmo-b_in1k.py', 'vlmo/upernet_vlmo-b_ade20k.py', 'vlmo/vlmo-b_linear_in1k.py']
C = TINY_VLMO['embed_dims']
VLMO_HEADS = {'pooler.dense.weight': (C, C), 'itc_text_proj.fc.weight': (C, C), 'itc_image_proj.fc.weight': (C, C),
              'logit_scale': (), 'itm_score.fc.weight': (2, C), 'mlm_score.decoder.weight': (TINY_VOCAB, C)}


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Paths and backbone states of a VLMo stage-3 file (official layout) and a beitmm VL-BEiT pretraining."""
    root, g = tmp_path_factory.mktemp('vl_ckpt'), torch.Generator().manual_seed(0)
    vlmo = MODELS.build(tiny_vlmo())
    state = {k: (v if v.dtype == torch.long else torch.randn(v.shape, generator=g))
             for k, v in vlmo.state_dict().items()}
    torch.save({'state_dict': {**state, **{k: torch.randn(s) for k, s in VLMO_HEADS.items()}}}, root / 'vlmo.ckpt')
    torch.manual_seed(0)
    mdm = MODELS.build(tiny_mdm('vlbeit'))
    mdm.init_weights()
    torch.save({'state_dict': mdm.state_dict()}, root / 'vlbeit.pth')
    return {'vlmo': (str(root / 'vlmo.ckpt'), state), 'vlbeit': (str(root / 'vlbeit.pth'),
                                                                 mdm.backbone.state_dict())}


def _backbone(rel: str) -> torch.nn.Module:
    bb = dict(Config.fromfile(config_path(rel)).model.backbone)
    bb.update(arch=TINY_VLMO, img_size=32, vocab_size=TINY_VOCAB, rel_pos_text_len=40, init_cfg=None)
    if not isinstance(bb.get('out_indices', -1), int):  # UperNet's 4 blocks
        bb['out_indices'] = (0, 1)
    return MODELS.build(bb)


@pytest.mark.parametrize('source', ['vlmo', 'vlbeit'])
@pytest.mark.parametrize('rel', CONFIGS)
def test_pretraining_checkpoints_load_with_zero_missing_backbone_keys(rel, source, checkpoints):
    path, state = checkpoints[source]
    model = _backbone(rel)
    assert model.image_only and type(model).__name__ == ('VLBEiT' if rel.startswith('vlbeit') else 'VLMo')
    report = load_pretrained_backbone(model, path)
    assert not report.missing and not report.reinitialised and not report.unexpected
    dropped = {k for k, _ in report.dropped}
    assert (set(VLMO_HEADS) <= dropped) if source == 'vlmo' else ('transformer.mask_token' in dropped)
    own = model.state_dict()
    assert set(own) <= set(state) | {'text_embeddings.position_ids'}
    for key in ('transformer.blocks.1.mlp_imag.fc1.weight', 'transformer.blocks.1.mlp_vl.fc2.weight',
                'relative_position_bias_table', 'text_embeddings.word_embeddings.weight', 'transformer.norm.bias'):
        torch.testing.assert_close(own[key], state[key], msg=key)


def test_linear_probe_trains_from_a_vlbeit_pretraining_with_the_backbone_unchanged(checkpoints, imagenet_info,
                                                                                   tmp_path):
    path, state = checkpoints['vlbeit']
    cfg = tiny_cls_config(config_path('vlbeit/vlbeit-b_linear_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    cfg.model.backbone.update(arch=TINY_VLMO, vocab_size=TINY_VOCAB, rel_pos_text_len=40,
                              init_cfg=dict(type='Pretrained', checkpoint=path))
    cfg.model.head.in_channels, cfg.model.neck.in_channels = 2 * C, C
    cfg.train_dataloader.dataset.update(indices=4, serialize_data=False)
    cfg.val_dataloader.dataset.update(indices=2, serialize_data=False)
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2 and 0 <= runner.val_loop.run()['accuracy/top1'] <= 100
    for key, value in runner.model.backbone.state_dict().items():
        torch.testing.assert_close(value, state[key], msg=key)


@pytest.mark.parametrize('rel', ['vlbeit/vlbeit-b_in1k.py', 'vlmo/upernet_vlmo-b_ade20k.py'])
def test_layer_decay_groups_of_the_configs(rel, imagenet_info, ade20k_root, tmp_path):
    """Each lr is base * rate ** (4 - 1 - depth) for 2 blocks (hand table); no text-only part (frozen)."""
    seg = rel.startswith('vlmo/upernet')
    cfg = (tiny_seg_config(config_path(rel), ade20k_root, str(tmp_path)) if seg else
           tiny_cls_config(config_path(rel), imagenet_info['root'], str(tmp_path), num_classes=3))
    cfg.model.backbone.update(arch=TINY_VLMO, vocab_size=TINY_VOCAB, rel_pos_text_len=40)
    runner = build_runner(cfg)
    optim = runner.build_optim_wrapper(cfg.optim_wrapper)
    lr = {n: g['lr'] for g in optim.optimizer.param_groups for n in g['param_names']}
    base, rate = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    depth = {'backbone.transformer.patch_embed.proj.weight': 0, 'backbone.token_type_embeddings.weight': 0,
             'backbone.transformer.blocks.0.mlp_imag.fc1.weight': 1, 'backbone.transformer.blocks.1.attn.qkv.weight': 2,
             'backbone.relative_position_bias_table': 3}
    for name, d in depth.items():
        assert lr[name] == pytest.approx(base * rate ** (3 - d)), name
    assert not [n for n in lr if '_text.' in n or '_vl.' in n or 'text_embeddings' in n]
    assert ('backbone.transformer.norm.weight' in lr) == (not seg)  # dense outputs are not normalised
