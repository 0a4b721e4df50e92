"""tools/analysis_tools/visualize_attention.py and its attention hooks, on tiny BEiT / BEiT v2 / BEiT-3 / VLMo.

The recorded maps are checked against a hand computation from the weights: softmax(Q K^T / sqrt(d) + relative
position bias), with the bias looked up through unilm's index formula written out here, on each layer's input.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from PIL import Image

from beitmm.apis import init_model
from beitmm.models import BEiT
from beitmm.testing.deploy import perturb_
from beitmm.testing.shrink import ROOT, TINY, config_path, tiny_cls_config
from beitmm.testing.vl import TINY_BEIT3, TINY_VLMO, shrink_vl_config
from beitmm.visualization import image_attention, query_attention_maps, record_attention, sample_photo

SIZE, PATCH = 64, 16  # a 4 x 4 patch grid
CONFIGS = {'beit': 'beit/beit-b_in1k.py', 'beitv2': 'beitv2/beitv2-b_in1k.py',
           'beit3': 'beit3/beit3-b_coco-retrieval.py', 'vlmo': 'vlmo/vlmo-b_coco-retrieval.py'}


def _tool():
    spec = importlib.util.spec_from_file_location(
        'visualize_attention', osp.join(ROOT, 'tools/analysis_tools/visualize_attention.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def tiny_files(tmp_path_factory):
    """Kind -> (config, checkpoint, model): shipped configs shrunk to 2 x 32 at 64 px, perturbed weights saved."""
    out = {}
    for kind, rel in CONFIGS.items():
        root = str(tmp_path_factory.mktemp(kind))
        if kind in ('beit', 'beitv2'):
            cfg = tiny_cls_config(config_path(rel), root, root, num_classes=4, size=SIZE)
        else:
            cfg = Config.fromfile(config_path(rel))
            cfg.model.backbone.arch = dict(TINY_BEIT3 if kind == 'beit3' else TINY_VLMO)
            cfg = shrink_vl_config(cfg, root, root, img_size=SIZE)
        torch.manual_seed(0)
        model = perturb_(init_model(cfg), seed=0).eval()
        with torch.no_grad():  # sharper attention and relative position biases that matter
            for name, p in model.named_parameters():
                if 'relative_position_bias_table' in name:
                    p.normal_(std=1.0)
                elif name.endswith(('qkv.weight', 'q_proj.A.weight', 'k_proj.A.weight')):
                    p.mul_(4.0)
        config, ckpt = osp.join(root, f'{kind}.py'), osp.join(root, f'{kind}.pth')
        cfg.dump(config)
        torch.save({'state_dict': model.state_dict()}, ckpt)
        out[kind] = (config, ckpt, model)
    return out


def unilm_rel_index(grid):
    """The unilm BEiT relative_position_index [N+1, N+1] (cls first), written out from its definition."""
    hp, wp = grid
    n, rows = hp * wp, (2 * hp - 1) * (2 * wp - 1) + 3
    index = np.zeros((n + 1, n + 1), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            dy, dx = i // wp - j // wp, i % wp - j % wp  # query minus key
            index[1 + i, 1 + j] = (dy + hp - 1) * (2 * wp - 1) + (dx + wp - 1)
    index[0, :], index[:, 0], index[0, 0] = rows - 3, rows - 2, rows - 1
    return torch.from_numpy(index)


def hand_probs(x, norm, q_w, q_b, k_w, k_b, heads, bias=None):
    """softmax(Q K^T / sqrt(d) + bias) of one layer from its input x [B, N, C]."""
    h = F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
    B, N, C = h.shape
    q = (h @ q_w.T + q_b).reshape(B, N, heads, C // heads).transpose(1, 2)  # [B, heads, N, D]
    k = (h @ k_w.T + k_b).reshape(B, N, heads, C // heads).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / (C // heads) ** 0.5
    return (scores if bias is None else scores + bias).softmax(-1)


def layer_inputs(blocks, run):
    """The input tokens of every block during ``run()`` (pre-hooks on the blocks, not on the attention)."""
    seen = {}

    def keep(i, args):  # returns None: a pre-hook's return value would replace the block's arguments
        seen.setdefault(i, args[0].detach().clone())

    handles = [b.register_forward_pre_hook(lambda m, a, i=i: keep(i, a)) for i, b in enumerate(blocks)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return seen


def reference(kind, backbone, pixels):
    """{layer: (hand probabilities, the same without the position bias)} of the image-only forward."""
    blocks = backbone.encoder.layers if kind == 'beit3' else (
        backbone.transformer.blocks if kind == 'vlmo' else backbone.blocks)
    inputs = layer_inputs(blocks, lambda: backbone(pixels))
    index = unilm_rel_index((SIZE // PATCH, SIZE // PATCH))
    out = {}
    for i, blk in enumerate(blocks):
        heads = backbone.num_heads
        if kind == 'beit3':
            att = blk.self_attn
            args = (blk.self_attn_layer_norm.A, att.q_proj.A.weight, att.q_proj.A.bias, att.k_proj.A.weight,
                    att.k_proj.A.bias, heads)
            out[i] = (hand_probs(inputs[i], *args), None)  # no relative position bias in BEiT-3
            continue
        att, zero = blk.attn, torch.zeros_like(blk.attn.q_bias)
        C = att.q_bias.numel()
        args = (blk.norm1, att.qkv.weight[:C], att.q_bias, att.qkv.weight[C:2 * C], zero, heads)
        table = backbone.relative_position_bias_table[:, i * heads:(i + 1) * heads] if kind == 'vlmo' \
            else att.relative_position_bias_table
        bias = table[index].permute(2, 0, 1)  # [heads, N+1, N+1]
        out[i] = (hand_probs(inputs[i], *args, bias), hand_probs(inputs[i], *args))
    return out


@pytest.mark.parametrize('kind', list(CONFIGS))
def test_recorded_maps_equal_the_hand_computation(tiny_files, kind):
    _, _, model = tiny_files[kind]
    tool = _tool()
    rgb, pixels = tool.load_image(model, sample_photo(), (SIZE, SIZE))  # the real photo, model preprocessing
    assert rgb.shape == (SIZE, SIZE, 3) and pixels.shape == (1, 3, SIZE, SIZE)
    probs, grid, has_cls = image_attention(model.backbone, pixels, layers=(0, -1))
    assert grid == (4, 4) and has_cls and sorted(probs) == [0, 1]
    ref = reference(kind, model.backbone, pixels)
    for layer, p in probs.items():
        assert p.shape == (1, model.backbone.num_heads, 17, 17)
        torch.testing.assert_close(p.sum(-1), torch.ones(p.shape[:-1]), atol=1e-5, rtol=0)
        want, no_bias = ref[layer]
        assert (p - want).abs().max() < 1e-5
        if no_bias is not None:  # the bias is part of what is checked: leaving it out changes the maps
            assert (want - no_bias).abs().max() > 1e-2
        assert p.max() > 0.2  # not near-uniform (1/17): the comparison has teeth
    cls_map = query_attention_maps(probs[1], grid, 'cls', PATCH)
    torch.testing.assert_close(cls_map[0, :, 1, 2], probs[1][0, :, 0, 1 + 1 * 4 + 2])
    point = query_attention_maps(probs[1], grid, (40, 20), PATCH)  # pixel (x=40, y=20): patch row 1, column 2
    torch.testing.assert_close(point[0].flatten(1), probs[1][0, :, 1 + 1 * 4 + 2, 1:])


def test_shared_relative_position_bias_is_included():
    """BEiT's pretraining layout: one table shared by every block arrives through the hook's ``shared_bias``."""
    torch.manual_seed(0)
    backbone = BEiT(arch=TINY, img_size=SIZE, patch_size=PATCH, out_type='raw', use_rel_pos_bias=False,
                    use_shared_rel_pos_bias=True).eval()
    with torch.no_grad():
        backbone.rel_pos_bias.relative_position_bias_table.normal_(std=1.0)
    img = torch.randn(2, 3, SIZE, SIZE)
    with record_attention(backbone, [-1]) as records:
        backbone(img)
    inputs = layer_inputs(backbone.blocks, lambda: backbone(img))
    blk, C = backbone.blocks[1], TINY['embed_dims']
    bias = backbone.rel_pos_bias.relative_position_bias_table[unilm_rel_index((4, 4))].permute(2, 0, 1)
    want = hand_probs(inputs[1], blk.norm1, blk.attn.qkv.weight[:C], blk.attn.q_bias, blk.attn.qkv.weight[C:2 * C],
                      torch.zeros(C), TINY['num_heads'], bias)
    assert list(records) == [1] and len(records[1]) == 1
    assert (records[1][0] - want).abs().max() < 1e-5


def test_the_tool_draws_the_grid_on_the_real_photo(tiny_files, tmp_path):
    tool = _tool()
    photo = sample_photo()
    assert osp.basename(photo) in ('chelsea.png', 'grace_hopper.jpg')
    stem = osp.splitext(osp.basename(photo))[0]
    for kind, (config, ckpt, _) in tiny_files.items():
        if kind == 'beit':  # 2 layers x 2 queries = 4 rows; image + 2 heads + mean = 4 columns
            opts, rows, cols = ['--query', 'cls', '40,20', '--layers', '0', '-1', '--heads', 'all', 'mean'], 4, 4
        else:  # the last layer's cls query: 1 row; image + mean + head 1 = 3 columns
            opts, rows, cols = ['--heads', 'mean', '1'], 1, 3
        out = tool.main([config, ckpt, '--sample-photo', *opts, '--out-dir', str(tmp_path / kind)])
        assert out == [str(tmp_path / kind / f'{stem}_attention.png')]
        with Image.open(out[0]) as im:  # 260 x 240 px per panel
            assert im.size == (cols * 260, rows * 240)
            assert np.asarray(im.convert('L')).std() > 10  # a drawing, not a blank page


def test_bad_options_name_the_setting(tiny_files, tmp_path):
    tool = _tool()
    config, ckpt, model = tiny_files['beit']
    with pytest.raises(ValueError, match='--heads'):
        tool.head_panels(['7'], model.backbone.num_heads)
    with pytest.raises(SystemExit):
        tool.parse_args([config, ckpt, '--images', 'x.png', '--query', '3-4'])
    with pytest.raises(IndexError, match='layer 5'):
        tool.main([config, ckpt, '--sample-photo', '--layers', '5', '--out-dir', str(tmp_path)])
    probs, grid, _ = image_attention(model.backbone, torch.zeros(1, 3, SIZE, SIZE))
    with pytest.raises(ValueError, match='outside'):
        query_attention_maps(probs[1], grid, (SIZE, 0), PATCH)
