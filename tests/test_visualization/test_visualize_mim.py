"""Attention maps, dVAE reconstructions and the visualize_mim tool on tiny models."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from PIL import Image

from beitmm.models import BEiT, DALLETokenizer
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY
from beitmm.visualization import attention_probs, cls_attention_maps, mask_overlay, mim_reconstruction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TOKENIZER = dict(n_hid=64, n_blk_per_group=1, vocab_size=512, n_init=32)


def tiny_backbone(**kw) -> BEiT:
    torch.manual_seed(0)
    cfg = dict(arch=TINY, img_size=64, out_type='raw', use_mask_token=True, use_rel_pos_bias=False,
               use_shared_rel_pos_bias=True)
    cfg.update(kw)
    model = BEiT(**cfg)
    model.init_weights()
    with torch.no_grad():  # sharp attention, non-trivial biases, full residual: a slip would show
        for name, p in model.named_parameters():
            if 'relative_position_bias_table' in name or name.endswith(('q_bias', 'v_bias')):
                p.normal_(std=0.5)
            elif name.endswith('qkv.weight'):
                p.normal_(std=0.2)
            elif 'gamma' in name:
                p.fill_(1.0)
    return model.eval()


def block_from_probs(blk, x: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """The block output recomputed with the given attention probabilities [B, heads, N, N]."""
    B, N, C = x.shape
    a = blk.attn
    h = blk.norm1(x)
    v = F.linear(h, a.qkv.weight[2 * C:], a.v_bias).reshape(B, N, a.num_heads, -1).transpose(1, 2)
    y = a.proj((probs @ v).transpose(1, 2).reshape(B, N, C))  # [B, N, C]
    x = x + blk.gamma_1 * y
    return x + blk.gamma_2 * blk.mlp(blk.norm2(x))


@pytest.mark.parametrize('kw, size, layer', [
    (dict(), 64, -1),
    (dict(), 48, 0),  # another grid: resized bias tables
    (dict(use_rel_pos_bias=True, use_abs_pos_emb=True), 64, 1),  # per-layer + shared bias, abs positions
])
def test_attention_reproduces_block_output(kw, size, layer):
    backbone = tiny_backbone(**kw)
    img = torch.randn(2, 3, size, size)
    mask = torch.zeros(2, size // 16, size // 16, dtype=torch.bool)
    mask[:, 0, 1:] = True
    for m in (None, mask):
        probs, grid = attention_probs(backbone, img, layer, m)  # [B, heads, N+1, N+1]
        n = grid[0] * grid[1] + 1
        assert probs.shape == (2, 2, n, n)
        with torch.no_grad():
            x, _ = backbone.embed(img, m)
            outs = [x] + [t for _, t in backbone.forward_blocks(x, grid)]
            index = layer % 2
            real = outs[index + 1]
            recomputed = block_from_probs(backbone.blocks[index], outs[index], probs)
        torch.testing.assert_close(recomputed, real, atol=1e-5, rtol=1e-5)
        # rows sum to 1 over all keys (cls included)
        torch.testing.assert_close(probs.sum(-1), torch.ones(2, 2, n), atol=1e-5, rtol=0)
        maps = cls_attention_maps(backbone, img, layer, m)
        assert maps.shape == (2, 2, *grid)
        torch.testing.assert_close(maps.flatten(2), probs[:, :, 0, 1:])
        torch.testing.assert_close(maps.sum((-2, -1)) + probs[:, :, 0, 0], torch.ones(2, 2), atol=1e-5, rtol=0)
    # a wrong attention (uniform) does not reproduce the block: the check has teeth
    uniform = torch.full_like(probs, 1 / probs.shape[-1])
    with torch.no_grad():
        assert (block_from_probs(backbone.blocks[index], outs[index], uniform) - real).abs().max() > 1e-2


def test_attention_layer_out_of_range():
    with pytest.raises(IndexError, match='out of range'):
        cls_attention_maps(tiny_backbone(), torch.randn(1, 3, 64, 64), layer=2)


def tiny_mim():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='beitmm.MaskedImageModeling',
        backbone=dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw', use_mask_token=True,
                      use_rel_pos_bias=False, use_shared_rel_pos_bias=True),
        head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=512),
        target_generator=dict(type='beitmm.DALLETokenizer', with_decoder=False, **TOKENIZER)))
    model.init_weights()
    with torch.no_grad():  # a head that predicts many different ids
        model.head.fc.weight.normal_(std=1.0)
    return model.eval()


def test_reconstruction_keeps_visible_and_replaces_masked():
    model = tiny_mim()
    decoder = DALLETokenizer(with_decoder=True, **TOKENIZER)
    img, tok_view = torch.randn(2, 3, 64, 64), torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[0, :2, :2] = True
    mask[1, 1:, 3] = True
    out = mim_reconstruction(model, img, tok_view, mask, decoder)

    original = model.target_generator.get_codebook_indices(tok_view)  # [2, 4, 4]
    torch.testing.assert_close(out['original_ids'], original)
    with torch.no_grad():
        tokens = model.backbone(img, mask)[-1][:, 1:]  # [2, 16, 32]
        head_ids = model.head.fc(tokens).argmax(-1).reshape(2, 4, 4)
    torch.testing.assert_close(out['predicted_ids'], head_ids)
    mixed = out['mixed_ids']
    assert torch.equal(mixed[~mask], original[~mask])  # visible ids untouched
    assert torch.equal(mixed[mask], head_ids[mask])  # exactly the masked ones replaced
    assert (mixed != original).any()  # the test is not vacuous
    expected_acc = torch.stack([(head_ids[i][mask[i]] == original[i][mask[i]]).float().mean() for i in range(2)])
    torch.testing.assert_close(out['accuracy'], expected_acc)

    assert out['recon_original'].shape == out['recon_predicted'].shape == (2, 3, 32, 32)
    torch.testing.assert_close(out['recon_original'], decoder.decode(original))
    torch.testing.assert_close(out['recon_predicted'], decoder.decode(mixed))
    assert 0 <= out['recon_predicted'].min() and out['recon_predicted'].max() <= 1
    # ids only without a decoder
    assert 'recon_original' not in mim_reconstruction(model, img, tok_view, mask)


def test_reconstruction_checks_vocab_and_grid():
    model = tiny_mim()
    img, tok_view = torch.randn(1, 3, 64, 64), torch.rand(1, 3, 32, 32)
    mask = torch.ones(1, 4, 4, dtype=torch.bool)
    small = DALLETokenizer(with_decoder=True, n_hid=64, n_blk_per_group=1, vocab_size=256, n_init=32)
    with pytest.raises(ValueError, match='vocabulary of 256'):
        mim_reconstruction(model, img, tok_view, mask, small)
    with pytest.raises(ValueError, match='tokenizer view size'):
        mim_reconstruction(model, img, torch.rand(1, 3, 16, 16), mask)


def test_mask_overlay_greys_masked_patches_only():
    img = np.full((32, 32, 3), 200, np.uint8)
    mask = np.zeros((2, 2), bool)
    mask[0, 1] = True
    out = mask_overlay(img, mask, alpha=1.0, grey=128)
    assert (out[:16, 16:] == 128).all() and (out[16:] == 200).all() and (out[:16, :16] == 200).all()


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """A shrunk BEiT pretraining config, a checkpoint of it, dVAE weights and two images."""
    from beitmm.apis import init_model
    tmp = tmp_path_factory.mktemp('vis')
    cfg = Config.fromfile(osp.join(ROOT, 'configs/beit/beit-b_pretrain_in1k.py'))
    cfg.model.backbone.update(arch=TINY, img_size=64)
    cfg.model.head.update(in_channels=32, out_channels=512)
    cfg.model.target_generator = dict(type='beitmm.DALLETokenizer', encoder_checkpoint=None, with_decoder=False,
                                      **TOKENIZER)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('TwoViewRandomResizedCrop'):
            t.update(size=64, second_size=32)
        elif t['type'].endswith('BlockwiseMaskGenerator'):
            t.update(input_size=4, num_masking_patches=6, min_num_patches=2)
    cfg_path = str(tmp / 'tiny_pretrain.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    model = init_model(cfg_path, None)
    ckpt = str(tmp / 'epoch_1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    enc = str(tmp / 'encoder.pth')
    torch.save(model.target_generator.encoder.state_dict(), enc)
    dec = str(tmp / 'decoder.pth')
    torch.save(DALLETokenizer(with_decoder=True, **TOKENIZER).decoder.state_dict(), dec)
    rng = np.random.default_rng(0)
    images = []
    for i, (h, w) in enumerate([(90, 120), (80, 80)]):
        p = str(tmp / f'img{i}.jpg')
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        images.append(p)
    return dict(tmp=tmp, cfg=cfg_path, ckpt=ckpt, enc=enc, dec=dec, images=images)


def _check_pngs(paths, min_size=(400, 400)):
    for p in paths:
        with Image.open(p) as im:
            assert im.format == 'PNG'
            assert im.size[0] >= min_size[0] and im.size[1] >= min_size[1], im.size
            pixels = np.asarray(im.convert('RGB'))
        assert pixels.std() > 10  # not a blank canvas


def test_cli_with_decoder(tiny_run):
    out = tiny_run['tmp'] / 'with_decoder'
    cmd = [sys.executable, osp.join(ROOT, 'tools/visualization/visualize_mim.py'), tiny_run['cfg'], tiny_run['ckpt'],
           '--images', *tiny_run['images'], '--out', str(out), '--encoder-checkpoint', tiny_run['enc'],
           '--decoder-checkpoint', tiny_run['dec'], '--seed', '3']
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'left out' not in proc.stdout
    paths = [str(out / 'img0.png'), str(out / 'img1.png')]
    assert all(f'wrote {p}' in proc.stdout for p in paths)
    _check_pngs(paths)


def test_cli_without_decoder_is_deterministic(tiny_run, capsys):
    from tools.visualization import visualize_mim
    args = [tiny_run['cfg'], tiny_run['ckpt'], '--images', tiny_run['images'][0], '--seed', '1']
    first = visualize_mim.main(args + ['--out', str(tiny_run['tmp'] / 'a')])
    assert 'reconstruction panels left out: the tokenizer has no encoder weights' in capsys.readouterr().out
    second = visualize_mim.main(args + ['--out', str(tiny_run['tmp'] / 'b')])
    _check_pngs(first + second)
    with Image.open(first[0]) as a, Image.open(second[0]) as b:  # same seed -> same crop, mask and maps
        assert np.array_equal(np.asarray(a), np.asarray(b))
    visualize_mim.main(args + ['--out', str(tiny_run['tmp'] / 'c'), '--encoder-checkpoint', tiny_run['enc']])
    assert 'reconstruction panels left out: no dVAE decoder weights' in capsys.readouterr().out
