"""tools/train.py with another backbone arch: widths set on the command line are kept, the others follow the arch.

Issue 30: ``configs/beitv2/beitv2-b_linear_in1k.py --cfg-options model.backbone.arch=tiny model.neck.in_channels=192
model.head.in_channels=384`` stopped with "mat1 and mat2 shapes cannot be multiplied (2x384 and 192x4)": the user's
384 was rewritten because it is the small preset's width.
"""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch

from beitmm.testing.shrink import ROOT

CONFIG = 'configs/beitv2/beitv2-b_linear_in1k.py'
WIDTHS = {'explicit': ['model.neck.in_channels=192', 'model.head.in_channels=384'], 'follow the arch': []}


@pytest.mark.parametrize('widths', WIDTHS, ids=list(WIDTHS))
def test_linear_probe_with_the_tiny_arch_trains_a_step(widths, imagenet_info, tmp_path):
    root, classes = imagenet_info['root'], len(imagenet_info['classes'])
    work = str(tmp_path / 'work')
    options = ['model.backbone.arch=tiny', *WIDTHS[widths], 'model.backbone.init_cfg=None',
               f'model.head.num_classes={classes}', f'data_preprocessor.num_classes={classes}',
               f'train_dataloader.dataset.data_root={root}', 'train_dataloader.dataset.indices=2',
               'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False', 'train_dataloader.pin_memory=False',
               f'val_dataloader.dataset.data_root={root}', 'val_dataloader.num_workers=0',
               'val_dataloader.persistent_workers=False', 'val_dataloader.dataset.indices=2', 'val_evaluator.topk=1',
               'train_cfg.max_epochs=1', 'auto_scale_lr.enable=False']
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work,
                          '--cfg-options', *options], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    state = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu', weights_only=False)['state_dict']
    assert state['head.fc.weight'].shape == (classes, 384)  # [cls ; mean] of the 192-wide tiny BEiT
    with open(glob.glob(osp.join(work, '*', '*.log'))[0]) as f:
        log = f.read()
    resolved = ['model.neck.in_channels: follows model.backbone (arch \'tiny\', 192 wide) x 1 = 192',
                'model.head.in_channels: follows model.backbone (arch \'tiny\', 192 wide) x 2 = 384']
    for line in resolved:
        assert (line in log) == (widths == 'follow the arch'), line
