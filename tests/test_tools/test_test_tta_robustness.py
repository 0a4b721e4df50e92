"""``python tools/test.py CONFIG CKPT --robustness a v2`` and ``--tta`` end to end (the tool run in-process).

Robustness: a tiny 1000-way classifier whose head prefers Pomeranian (1k class 152, not an ImageNet-A class) over
Chihuahua (151, ImageNet-A's class 37) is scored on ImageNet-A / ImageNetV2 folder trees as released; the printed and
written top-1 / top-5 must equal the ones computed by hand from its logits, the labels taken from Hendrycks et al.'s
index list (``HENDRYCKS_A``) and the V2 folder numbers.
"""
import glob
import json
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from beitmm.apis import init_model
from beitmm.testing.shrink import ROOT, config_path, tiny_cls_config, tiny_seg_config

from ..test_datasets.test_robustness.test_wnids import HENDRYCKS_A

A_FOLDERS = {'n02085620': 151, 'n01498041': 6, 'n12267677': 988}  # Chihuahua, stingray, acorn
V2_FOLDERS = ['152', '10', '100']  # ImageFolder's sorted order would label them 2, 0, 1


def _run_tool(monkeypatch, *args) -> None:
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', *args])
    runpy.run_path(osp.join(ROOT, 'tools', 'test.py'), run_name='__main__')


def _images(folder: str, n: int, seed: int) -> list:
    os.makedirs(folder)
    rng, paths = np.random.default_rng(seed), []
    for k in range(n):
        paths.append(osp.join(folder, f'{k}.jpg'))
        Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).save(paths[-1], quality=95)
    return paths


def _topk_hit(logits: torch.Tensor, label: int, k: int) -> bool:
    return label in logits.topk(k).indices.tolist()


@pytest.fixture(scope='module')
def classifier(imagenet_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('robust')
    cfg = tiny_cls_config(config_path('beit/beit-b_ft22k_in1k.py'), imagenet_root, str(work), num_classes=1000)
    model = init_model(cfg)
    torch.manual_seed(0)
    model.head.fc.weight.data.normal_(0, 0.05)
    model.head.fc.bias.data.zero_()
    model.head.fc.bias.data[152], model.head.fc.bias.data[151] = 8.0, 4.0
    ckpt = str(work / 'cls.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    path = str(work / 'tiny_cls.py')
    cfg.dump(path)
    return dict(cfg=cfg, model=model, ckpt=ckpt, config=path, work=work)


def _logits(model, cfg, path: str) -> torch.Tensor:
    """The classifier's 1000 logits on one image through the config's test pipeline (load, resize, crop)."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    item = Compose(cfg.test_dataloader.dataset.pipeline)(dict(img_path=path))
    batch = model.data_preprocessor({'inputs': [item['inputs']], 'data_samples': [item['data_samples']]}, False)
    with torch.no_grad():
        return model(batch['inputs'], mode='tensor')[0]  # [1000]


def test_robustness_prints_the_masked_accuracy_computed_by_hand(classifier, tmp_path, monkeypatch, capsys):
    root = tmp_path / 'data'
    a_items, v2_items = [], []
    for i, (wnid, index) in enumerate(A_FOLDERS.items()):
        a_items += [(p, HENDRYCKS_A.index(index)) for p in _images(str(root / 'imagenet-a' / wnid), 2, i)]
    for i, name in enumerate(V2_FOLDERS):
        folder = root / 'imagenet-v2' / 'imagenetv2-matched-frequency-format-val' / name
        v2_items += [(p, int(name)) for p in _images(str(folder), 2, 10 + i)]
    model, cfg = classifier['model'], classifier['cfg']
    hand = {}
    logits = [_logits(model, cfg, p)[HENDRYCKS_A] for p, _ in a_items]  # [200] each: unilm's masked head
    hand['imagenet-a/top1'] = 100 * np.mean([_topk_hit(x, y, 1) for x, (_, y) in zip(logits, a_items, strict=True)])
    hand['imagenet-a/top5'] = 100 * np.mean([_topk_hit(x, y, 5) for x, (_, y) in zip(logits, a_items, strict=True)])
    logits = [_logits(model, cfg, p) for p, _ in v2_items]
    hand['imagenet-v2/top1'] = 100 * np.mean([_topk_hit(x, y, 1) for x, (_, y) in zip(logits, v2_items, strict=True)])
    hand['imagenet-v2/top5'] = 100 * np.mean([_topk_hit(x, y, 5) for x, (_, y) in zip(logits, v2_items, strict=True)])
    # the head's bias decides: masked, Chihuahua (the first folder) is right; unmasked, Pomeranian ('152') is
    assert hand['imagenet-a/top1'] == pytest.approx(100 / 3) and hand['imagenet-v2/top1'] == pytest.approx(100 / 3)
    out = tmp_path / 'metrics.json'
    _run_tool(monkeypatch, classifier['config'], classifier['ckpt'], '--robustness', 'a', 'v2', '--robustness-root',
              str(root), '--out', str(out), '--work-dir', str(tmp_path / 'work'))
    metrics = json.loads(out.read_text())
    assert set(metrics) == set(hand)
    for key, value in hand.items():
        assert metrics[key] == pytest.approx(value, abs=1e-4), key
    printed = capsys.readouterr().out
    assert 'imagenet-a: imagenet-a/top1 33.33' in printed and 'imagenet-v2: imagenet-v2/top1 33.33' in printed
    assert 'robustness summary (top-1 %): imagenet-a 33.33, imagenet-v2 33.33' in printed


def test_tta_on_the_tiny_segmentor_runs_12_views_and_prints_miou(ade20k_root, tmp_path, monkeypatch):
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), ade20k_root, str(tmp_path))
    cfg.test_dataloader.dataset.indices = 1
    cfg.model.test_cfg = dict(mode='whole')  # one forward per view (unilm slides; the averaging is the same)
    model = init_model(cfg)
    ckpt = str(tmp_path / 'seg.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    cfg.dump(str(tmp_path / 'tiny_seg.py'))
    calls = []
    from mmseg.models.segmentors import EncoderDecoder
    original = EncoderDecoder.predict
    monkeypatch.setattr(EncoderDecoder, 'predict', lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    out = tmp_path / 'metrics.json'
    _run_tool(monkeypatch, str(tmp_path / 'tiny_seg.py'), ckpt, '--tta', '--out', str(out),
              '--work-dir', str(tmp_path / 'work'))
    assert len(calls) == 12  # 6 scales x 2 flips for the one image
    assert 0 <= json.loads(out.read_text())['mIoU'] <= 100
    log = open(sorted(glob.glob(str(tmp_path / 'work' / '*' / '*.log')))[-1]).read()
    assert "--tta: SegTTAModel over the config's tta_pipeline" in log
