"""Issue 29 recipes: each config names its official file and loads that file's layout at its resolution, whole.

The official file names and grids below are read from unilm's READMEs and commands (beit/README.md,
beit/get_started_for_image_classification.md, beit2/get_started_for_image_classification.md, beit2 ADE20K configs),
not from the configs. The files are faked at tiny size (``ckpt_fakes.official``: 32-dim, 2 blocks, 2 heads) on half
the 224-px grid (7 x 7); each config's backbone is built at that size on half its own grid (14 -> 7, 24 -> 12,
32 -> 16), so the relative position tables are resized exactly where the real ones are.
"""
import pytest
import torch
from mmengine.config import Config

from beitmm.checkpoint import load_pretrained_backbone
from beitmm.pos_embed import resize_rel_pos_bias_table
from beitmm.registry import MODELS
from beitmm.testing.shrink import config_path

from .ckpt_fakes import DEPTH, HEADS, C, official

TABLE = 'blocks.{}.attn.relative_position_bias_table'
# config -> (official file the recipe starts from, its layout, the fine-tuning grid)
RECIPES = {
    'beit/beit-b_ft22k_in1k.py': ('beit_base_patch16_224_pt22k_ft22k.pth', 'finetuned', 14),
    'beit/beit-l_ft22k_in1k.py': ('beit_large_patch16_224_pt22k_ft22k.pth', 'finetuned', 14),
    'beit/beit-b_ft22k-384_in1k.py': ('beit_base_patch16_224_pt22k_ft22k.pth', 'finetuned', 24),
    'beit/beit-l_ft22k-384_in1k.py': ('beit_large_patch16_224_pt22k_ft22k.pth', 'finetuned', 24),
    'beit/beit-l_ft22k-512_in1k.py': ('beit_large_patch16_224_pt22k_ft22k.pth', 'finetuned', 32),
    'beit/beit-b_in22k.py': ('beit_base_patch16_224_pt22k.pth', 'pretrained', 14),
    'beit/beit-l_in22k.py': ('beit_large_patch16_224_pt22k.pth', 'pretrained', 14),
    'beitv2/beitv2-b_in21k.py': ('beitv2_base_patch16_224_pt1k.pth', 'pretrained-v2', 14),
    'beitv2/beitv2-l_in21k.py': ('beitv2_large_patch16_224_pt1k.pth', 'pretrained-v2', 14),
    'beitv2/beitv2-b_ft21k_in1k.py': ('beitv2_base_patch16_224_pt1k_ft21k.pth', 'finetuned', 14),
    'beitv2/beitv2-l_ft21k_in1k.py': ('beitv2_large_patch16_224_pt1k_ft21k.pth', 'finetuned', 14),
    'beitv2/upernet_beitv2-b_ft21k_ade20k.py': ('beitv2_base_patch16_224_pt1k_ft21k.pth', 'finetuned', 32),
    'beitv2/upernet_beitv2-l_ft21k_ade20k.py': ('beitv2_large_patch16_224_pt1k_ft21k.pth', 'finetuned', 32),
}


def _official_file(layout: str) -> dict:
    """A released file's keys at tiny size on the 7 x 7 grid."""
    if layout == 'finetuned':  # per-layer tables, fc_norm, the 21841-way head (7 rows here)
        return official(per_layer=True, fc_norm=True, head=7, grid=(7, 7))
    state = official(shared=True, per_layer=False, mask_token=True, lm_head=True, grid=(7, 7))
    if layout == 'pretrained-v2':  # BEiT v2 pretraining adds the CLS branch
        state.update({'cls_pt_layers.0.norm1.weight': torch.ones(C), 'cls_pt_layers.0.attn.qkv.weight':
                      torch.zeros(3 * C, C)})
    return state


@pytest.mark.parametrize('rel', sorted(RECIPES))
def test_recipe_loads_its_official_file_whole_at_its_resolution(rel):
    name, layout, grid = RECIPES[rel]
    backbone = Config.fromfile(config_path(rel)).model.backbone.to_dict()
    assert backbone['init_cfg']['checkpoint'] == f'pretrain/{name}'
    size = backbone['img_size'][0] if isinstance(backbone['img_size'], (tuple, list)) else backbone['img_size']
    assert size // backbone['patch_size'] == grid
    tiny = grid // 2
    backbone.update(arch=dict(embed_dims=C, num_layers=DEPTH, num_heads=HEADS, feedforward_channels=4 * C),
                    img_size=16 * tiny, init_cfg=None)
    if backbone.get('out_indices'):
        backbone['out_indices'] = (0, 1)
    model = MODELS.build(backbone)
    ckpt = _official_file(layout)
    report = load_pretrained_backbone(model, {'model': ckpt})
    assert report.missing == [] and report.unexpected == []
    state = model.state_dict()
    source = ckpt.get(TABLE.format(1), ckpt.get('rel_pos_bias.relative_position_bias_table'))
    expected = source if tiny == 7 else resize_rel_pos_bias_table(source, (7, 7), (tiny, tiny))
    torch.testing.assert_close(state[TABLE.format(1)], expected, rtol=0, atol=0)
    assert torch.equal(state['blocks.1.attn.qkv.weight'], ckpt['blocks.1.attn.qkv.weight'])
    dropped = {k for k, _ in report.dropped}
    assert layout != 'finetuned' or {'head.weight', 'head.bias'} <= dropped  # a new head for the new classes
    out = model(torch.randn(1, 3, 16 * tiny, 16 * tiny))
    assert torch.isfinite(out[-1]).all()
