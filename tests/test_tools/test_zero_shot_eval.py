"""``tools/test.py configs/beit3/beit3-b_zeroshot_in1k.py CKPT`` on an ImageNet-layout folder with a class-name file.

A tiny untrained BEiT-3 retrieval model (the shipped config at tiny size, as a user's override config would set it);
the printed and written top-1 / top-5 must equal the ones computed by hand from ``extract_features`` x
``build_zero_shot_classifier`` logits.
"""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import beitmm
from beitmm.apis import extract_features, init_model
from beitmm.testing.shrink import ROOT
from beitmm.testing.vl import TINY_BEIT3, tiny_tokenizer_files

NAMES = ['tench', 'goldfish', 'red circle', 'blue square', 'green triangle', 'yellow star']


def _folder(root: str) -> list:
    """val/<wnid>/*.JPEG, 2 noise images per class; returns (path, label) in class order."""
    rng, items = np.random.default_rng(0), []
    for label in range(len(NAMES)):
        folder = osp.join(root, 'val', f'n{label:08d}')
        os.makedirs(folder)
        for k in range(2):
            path = osp.join(folder, f'{k}.JPEG')
            Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(path, quality=95)
            items.append((path, label))
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(NAMES) + '\n')
    return items


def _config(tmp_path) -> str:
    root, spm = str(tmp_path / 'imagenet'), tiny_tokenizer_files()['spm']
    arch = dict(TINY_BEIT3, _delete_=True)
    text = f"""_base_ = [{osp.join(ROOT, 'configs/beit3/beit3-b_zeroshot_in1k.py')!r}]
model = dict(class_names={root + '/classes.txt'!r}, max_text_len=16,
             backbone=dict(arch={arch!r}, img_size=32, vocab_size=160, max_text_positions=66),
             tokenizer=dict(model_file={spm!r}))
pipeline = [dict(type='beitmm.RobustLoadImageFromFile'),
            dict(type='ResizeEdge', scale=32, edge='short', backend='pillow', interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')]
test_dataloader = dict(batch_size=5, num_workers=0, persistent_workers=False, pin_memory=False,
                       dataset=dict(data_root={root!r}, pipeline=pipeline))
"""
    path = tmp_path / 'zeroshot_tiny.py'
    path.write_text(text)
    return str(path)


def test_tools_test_prints_zero_shot_top1_top5_of_the_logits(tmp_path):
    items = _folder(str(tmp_path / 'imagenet'))
    cfg = _config(tmp_path)
    torch.manual_seed(0)
    model = init_model(cfg)  # untrained, random: saved as the "retrieval checkpoint"
    ckpt = str(tmp_path / 'retrieval.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out_json = str(tmp_path / 'metrics.json')
    proc = subprocess.run([sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 'work'),
                           '--out', out_json], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    printed = re.search(r'accuracy/top1: ([\d.]+)\s+accuracy/top5: ([\d.]+)', proc.stdout + proc.stderr)
    assert printed, (proc.stdout + proc.stderr)[-2000:]
    with open(out_json) as f:
        written = json.load(f)

    loaded = init_model(cfg, ckpt)
    feats = extract_features(loaded, images=[p for p, _ in items])['image']  # [12, C]
    weights = beitmm.build_zero_shot_classifier(loaded, NAMES, 'openai_imagenet')  # [C, 6]
    logits = feats @ weights
    labels = torch.tensor([y for _, y in items])
    top1 = 100 * (logits.argmax(-1) == labels).float().mean().item()
    top5 = 100 * (logits.topk(5, dim=-1).indices == labels[:, None]).any(-1).float().mean().item()
    assert logits.std(dim=-1).min() > 0  # the classes are told apart (not one constant score)
    assert float(printed.group(1)) == pytest.approx(top1, abs=1e-3)
    assert float(printed.group(2)) == pytest.approx(top5, abs=1e-3)
    assert written == pytest.approx({'accuracy/top1': top1, 'accuracy/top5': top5}, abs=1e-4)
