"""beitmm.CheckpointConvertHook converts BEiT layouts and leaves other backbones' checkpoints alone."""
from types import SimpleNamespace

import torch
import torch.nn as nn

from beitmm.engine.hooks.convert_checkpoint import CheckpointConvertHook
from beitmm.models.backbones import BEiT
from beitmm.testing.shrink import TINY


class _Model(nn.Module):

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone


def test_non_beit_backbone_checkpoint_passes_through():
    from mmpretrain.models import ResNet
    model = _Model(ResNet(depth=18))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = dict(state_dict=state, meta=dict(epoch=1))
    CheckpointConvertHook().after_load_checkpoint(SimpleNamespace(model=model), ckpt)
    assert ckpt['state_dict'] is state and ckpt['meta'] == dict(epoch=1)


def test_beit_backbone_gets_the_shared_table_expanded():
    model = _Model(BEiT(arch=TINY, img_size=32, use_rel_pos_bias=True, use_abs_pos_emb=False))
    pre = BEiT(arch=TINY, img_size=32, use_rel_pos_bias=False, use_shared_rel_pos_bias=True, use_abs_pos_emb=False,
               use_mask_token=True)
    state = {f'backbone.{k}': v for k, v in pre.state_dict().items()}
    ckpt = dict(state_dict=state)
    CheckpointConvertHook().after_load_checkpoint(SimpleNamespace(model=model), ckpt)
    out = ckpt['state_dict']
    shared = state['backbone.rel_pos_bias.relative_position_bias_table']
    for i in range(TINY['num_layers']):
        assert torch.equal(out[f'backbone.blocks.{i}.attn.relative_position_bias_table'], shared)
    assert 'backbone.mask_token' not in out
