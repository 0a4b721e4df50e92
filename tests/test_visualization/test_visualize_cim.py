"""CIM visualisation: corruption / enhancer panels on tiny models and the visualize_cim tool."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from beitmm.models.heads import sliding_window_normalize
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY
from beitmm.visualization import cim_visualization

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TOKENIZER = dict(type='beitmm.DALLETokenizer', encoder_checkpoint=None, decoder_checkpoint=None, with_decoder=True,
                 n_hid=16, n_blk_per_group=1, vocab_size=64, n_init=16)


def tiny_cfg(rel: str) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, 'configs', rel))
    m = cfg.model
    m.generator.update(arch=TINY, img_size=64)
    m.generator_head.update(in_channels=32, out_channels=64)
    m.tokenizer = dict(TOKENIZER)
    m.backbone.update(arch=TINY, img_size=64)
    m.head.in_channels = 32
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('TwoViewRandomResizedCrop'):
            t.update(size=64, second_size=32)
        elif t['type'].endswith('BlockwiseMaskGenerator'):
            t.update(input_size=4, num_masking_patches=6, min_num_patches=2)
    return cfg


def build(rel: str):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(rel).model)
    model.init_weights()
    with torch.no_grad():  # a generator that samples many different ids
        model.generator_head.fc.weight.normal_(std=1.0)
    return model.eval()


def inputs():
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, 64, 64, generator=g).clamp(-1, 1)
    tok_view = torch.rand(2, 3, 32, 32, generator=g)
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[0, :2, :3] = True
    mask[1, 2:, 1:] = True
    return img, tok_view, mask


def test_respix_panels_invert_the_normalisation():
    model = build('cim/cim-respix_vit-b_300e_in1k.py')
    img, tok_view, mask = inputs()
    torch.manual_seed(1)
    out = cim_visualization(model, img, tok_view, mask)
    torch.manual_seed(1)
    parts = model.corrupt(img, tok_view, mask.flatten(1))
    torch.testing.assert_close(out['corrupted'], parts['corrupted'])
    torch.testing.assert_close(out['original'], (img + 1) / 2)  # TwoViewDataPreprocessor 127.5 / 127.5
    assert torch.equal(out['replaced'].flatten(1), parts['replaced']) and not out['replaced'][~mask].any()
    argmax = parts['logits'].argmax(-1)
    expected = [(argmax[:int(mask[0].sum())] == parts['ids'][0][mask[0].flatten()]).float().mean(),
                (argmax[int(mask[0].sum()):] == parts['ids'][1][mask[1].flatten()]).float().mean()]
    torch.testing.assert_close(out['gen_acc'], torch.stack(expected))
    head = model.head
    pred = head(model.enhance(parts['corrupted']), (64, 64))
    target = sliding_window_normalize(out['original'], head.window_size, head.eps)
    torch.testing.assert_close(out['respix_pred'], pred)
    torch.testing.assert_close(out['respix_target'], target)
    torch.testing.assert_close(out['respix_mse'], ((pred - target)**2).flatten(1).mean(1))
    # the per-image MSE averages to the training loss of the same batch
    torch.testing.assert_close(out['respix_mse'].mean(), head.loss(model.enhance(parts['corrupted']),
                                                                   out['original'])['loss_respix'])
    # a perfect ResPix prediction has zero error
    head.forward = lambda feat, hw: sliding_window_normalize(out['original'], head.window_size, head.eps)
    assert cim_visualization(model, img, tok_view, mask)['respix_mse'].max() < 1e-10


def test_revdet_panels():
    model = build('cim/cim-revdet_vit-b_300e_in1k.py')
    img, tok_view, mask = inputs()
    out = cim_visualization(model, img, tok_view, mask)
    assert out['replaced_prob'].shape == (2, 4, 4) and 'respix_pred' not in out
    assert 0 <= out['replaced_prob'].min() and out['replaced_prob'].max() <= 1
    assert out['replaced'].any() and not out['replaced'][~mask].any()
    with pytest.raises(ValueError, match='patch grid'):
        cim_visualization(model, img, tok_view, torch.ones(2, 3, 3, dtype=torch.bool))


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cimvis')
    runs = {}
    for name in ('respix', 'revdet'):
        rel = f'cim/cim-{name}_vit-b_300e_in1k.py'
        path = str(tmp / f'tiny_{name}.py')
        tiny_cfg(rel).dump(path)
        model = build(rel)
        ckpt = str(tmp / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
        runs[name] = (path, ckpt, model)
    enc, dec = str(tmp / 'encoder.pth'), str(tmp / 'decoder.pth')
    torch.save(runs['respix'][2].tokenizer.encoder.state_dict(), enc)
    torch.save(runs['respix'][2].tokenizer.decoder.state_dict(), dec)
    lean = build('cim/cim-respix_vit-b_300e_in1k.py')
    lean.save_generator = False
    torch.save(dict(state_dict=lean.state_dict()), str(tmp / 'lean.pth'))
    lean.save_generator = lean.save_tokenizer = True  # a checkpoint that carries its (random) dVAE
    torch.save(dict(state_dict=lean.state_dict()), str(tmp / 'with_dvae.pth'))
    rng = np.random.default_rng(0)
    images = []
    for i, (h, w) in enumerate([(90, 120), (80, 80)]):
        p = str(tmp / f'img{i}.jpg')
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        images.append(p)
    return dict(tmp=tmp, runs=runs, enc=enc, dec=dec, images=images, lean=str(tmp / 'lean.pth'),
                with_dvae=str(tmp / 'with_dvae.pth'))


def _check_pngs(paths):
    for p in paths:
        with Image.open(p) as im:
            assert im.format == 'PNG' and im.size[0] >= 500 and im.size[1] >= 250, im.size
            assert np.asarray(im.convert('RGB')).std() > 10


def _tool():
    from tools.visualization import visualize_cim
    return visualize_cim


def test_cli_respix_subprocess(tiny_run):
    cfg, ckpt, _ = tiny_run['runs']['respix']
    out = tiny_run['tmp'] / 'respix'
    cmd = [sys.executable, osp.join(ROOT, 'tools/visualization/visualize_cim.py'), cfg, ckpt, '--images',
           *tiny_run['images'], '--out', str(out), '--encoder-checkpoint', tiny_run['enc'],
           '--decoder-checkpoint', tiny_run['dec'], '--seed', '3']
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = [str(out / 'img0.png'), str(out / 'img1.png')]
    assert all(f'wrote {p}' in proc.stdout for p in paths)
    _check_pngs(paths)


def test_cli_revdet_is_deterministic_and_checks_inputs(tiny_run, capsys):
    tool = _tool()
    cfg, ckpt, _ = tiny_run['runs']['revdet']
    dvae = ['--encoder-checkpoint', tiny_run['enc'], '--decoder-checkpoint', tiny_run['dec']]
    args = [cfg, ckpt, '--images', tiny_run['images'][0], '--seed', '1', '--temperature', '2'] + dvae
    first = tool.main(args + ['--out', str(tiny_run['tmp'] / 'a')])
    second = tool.main(args + ['--out', str(tiny_run['tmp'] / 'b')])
    _check_pngs(first + second)
    with Image.open(first[0]) as a, Image.open(second[0]) as b:  # same seed: same crop, mask and samples
        assert np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(FileNotFoundError, match='--decoder-checkpoint'):
        tool.main(args + ['--out', str(tiny_run['tmp'] / 'c'), '--decoder-checkpoint', 'nowhere/decoder.pkl'])
    respix_cfg = tiny_run['runs']['respix'][0]
    with pytest.raises(KeyError, match='save_generator=False'):
        tool.main([respix_cfg, tiny_run['lean'], '--images', tiny_run['images'][0], '--out',
                   str(tiny_run['tmp'] / 'd')])
    capsys.readouterr()
    tool.main([cfg, ckpt, '--images', tiny_run['images'][0], '--out', str(tiny_run['tmp'] / 'g')])  # no dVAE given
    assert 'the dVAE decoder has no weights (random)' in capsys.readouterr().out


def test_cli_uses_the_dvae_saved_with_the_checkpoint(tiny_run, capsys):
    tool = _tool()
    cfg = tiny_run['runs']['respix'][0]
    args = [cfg, tiny_run['with_dvae'], '--images', tiny_run['images'][1], '--seed', '2']
    first = tool.main(args + ['--out', str(tiny_run['tmp'] / 'e')])
    second = tool.main(args + ['--out', str(tiny_run['tmp'] / 'f')])
    assert 'has no weights (random)' not in capsys.readouterr().out
    with Image.open(first[0]) as a, Image.open(second[0]) as b:  # the saved dVAE, not a fresh random one
        assert np.array_equal(np.asarray(a), np.asarray(b))
