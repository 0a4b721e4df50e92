"""Width relations (beitmm.engine.config_fit): resolved from the followed module's arch; numbers are never rewritten."""
import pytest
from mmengine.config import Config

from beitmm.engine.config_fit import module_width, resolve_widths
from beitmm.testing.shrink import config_path

SMALL_DICT = dict(embed_dims=40, num_layers=1, num_heads=2, feedforward_channels=80)


def test_relations_follow_a_preset_a_dict_arch_and_another_module():
    cfg = Config(dict(model=dict(
        type='Any',
        backbone=dict(type='beitmm.BEiT', arch='small'),
        generator=dict(type='beitmm.BEiT', arch=SMALL_DICT),
        neck=dict(in_channels=dict(follows='backbone')),
        head=dict(in_channels=dict(follows='backbone', factor=2), num_classes=7),
        decode_head=dict(in_channels=[dict(follows='backbone')] * 3, channels=16),
        generator_head=dict(in_channels=dict(follows='generator')),
        target=dict(inner=dict(width=dict(follows='backbone', factor=3))))))
    lines = resolve_widths(cfg)
    m = cfg.model
    assert (m.neck.in_channels, m.head.in_channels, m.head.num_classes) == (384, 768, 7)
    assert m.decode_head.in_channels == [384, 384, 384] and m.decode_head.channels == 16
    assert m.generator_head.in_channels == 40 and m.target.inner.width == 1152
    assert len(lines) == 7
    assert "model.head.in_channels: follows model.backbone (arch 'small', 384 wide) x 2 = 768" in lines
    assert resolve_widths(cfg) == [] and m.head.in_channels == 768  # numbers stay numbers


@pytest.mark.parametrize('type_name,arch,width', [('beitmm.BEiT', 'B', 768), ('beitmm.BEiT', 'deit-tiny', 192),
                                                  ('beitmm.BEiT3', 'large', 1024), ('beitmm.VLMo', 'tiny', 192),
                                                  ('beitmm.BEiT', SMALL_DICT, 40)])
def test_width_of_each_vision_backbone_family(type_name, arch, width):
    assert module_width(dict(type=type_name, arch=arch)) == width


def test_a_width_set_by_the_user_is_never_rewritten():
    """The issue's command: 384 is also the small preset's width, and the user's value.

    ``--cfg-options model.backbone.arch=tiny model.neck.in_channels=192 model.head.in_channels=384`` (the probe
    reads [cls ; mean] = 2 x 192).
    """
    cfg = Config.fromfile(config_path('beitv2/beitv2-b_linear_in1k.py'))
    cfg.merge_from_dict({'model.backbone.arch': 'tiny', 'model.neck.in_channels': 192, 'model.head.in_channels': 384})
    assert resolve_widths(cfg) == []
    assert (cfg.model.neck.in_channels, cfg.model.head.in_channels) == (192, 384)
    cfg = Config.fromfile(config_path('beitv2/beitv2-b_linear_in1k.py'))
    cfg.merge_from_dict({'model.backbone.arch': 'tiny', 'model.head.in_channels': 768})  # odd, but the user's
    assert len(resolve_widths(cfg)) == 1
    assert (cfg.model.neck.in_channels, cfg.model.head.in_channels) == (192, 768)


# config -> widths as written, and with --cfg-options model.backbone.arch=tiny alone
CASES = [
    ('beit/beit-b_in1k.py', {'head.in_channels': 768}, {'head.in_channels': 192}),
    ('beit/beit-l_in1k.py', {'head.in_channels': 1024}, {'head.in_channels': 192}),
    ('beitv2/beitv2-b_linear_in1k.py', {'neck.in_channels': 768, 'head.in_channels': 1536},
     {'neck.in_channels': 192, 'head.in_channels': 384}),
    ('beit/upernet_beit-l_ade20k.py',
     {'neck.embed_dim': 1024, 'decode_head.in_channels': [1024] * 4, 'auxiliary_head.in_channels': 1024},
     {'neck.embed_dim': 192, 'decode_head.in_channels': [192] * 4, 'auxiliary_head.in_channels': 192}),
    ('beit3/upernet_beit3-b_ade20k.py', {'neck.embed_dim': 768}, {'neck.embed_dim': 192}),
    ('beit/beit-l_pretrain_in1k.py', {'head.in_channels': 1024}, {'head.in_channels': 192}),
    ('beit3/beit3-b_pretrain_vl-corpus.py', {'mim_head.in_channels': 768}, {'mim_head.in_channels': 192}),
    ('cim/cim-revdet_vit-b_300e_in1k.py', {'head.in_channels': 768, 'generator_head.in_channels': 256},
     {'head.in_channels': 192, 'generator_head.in_channels': 256}),
    ('maskdistill/maskdistill_clip-l14_vit-h_300e_in1k.py', {'head.in_channels': 1280}, None),
]


def _get(cfg: Config, key: str):
    node = cfg.model
    for part in key.split('.'):
        node = node[part]
    return node


@pytest.mark.parametrize('name,written,tiny', CASES, ids=[c[0] for c in CASES])
def test_configs_state_the_relation_and_the_arch_alone_refits_it(name, written, tiny):
    cfg = Config.fromfile(config_path(name))
    resolve_widths(cfg)
    assert {k: _get(cfg, k) for k in written} == written
    if tiny:
        cfg = Config.fromfile(config_path(name))
        cfg.merge_from_dict({'model.backbone.arch': 'tiny'})
        resolve_widths(cfg)
        assert {k: _get(cfg, k) for k in tiny} == tiny


def test_errors_name_the_field_and_the_fix():
    cfg = Config(dict(model=dict(backbone=dict(type='beitmm.BEiT', arch='base'),
                                 head=dict(in_channels=dict(follows='generator')))))
    with pytest.raises(KeyError, match='model.head.in_channels follows model.generator'):
        resolve_widths(cfg)
    cfg = Config(dict(model=dict(backbone=dict(type='mmpretrain.ResNet', depth=50),
                                 head=dict(in_channels=dict(follows='backbone')))))
    with pytest.raises(ValueError, match='set the widths that follow it explicitly'):
        resolve_widths(cfg)
    with pytest.raises(ValueError, match="arch 'enormous'"):
        module_width(dict(type='beitmm.BEiT', arch='enormous'))
