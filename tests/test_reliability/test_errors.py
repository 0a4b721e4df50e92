"""Clear errors naming the file / key and the fix, each for a case that used to fail cryptically or silently."""
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from PIL import Image

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path, tiny_seg_config

from .helpers import cls_config, load, pretrain_config


# ---------------------------------------------------------------- corrupt and truncated images
@pytest.fixture()
def broken_imagenet(imagenet_info, tmp_path):
    root = str(tmp_path / 'imagenet')
    shutil.copytree(imagenet_info['root'], root)
    cls = imagenet_info['classes'][0]
    images = sorted(p for p in __import__('glob').glob(osp.join(root, 'train', cls, '*')))
    with open(images[0], 'rb') as f:
        data = f.read()
    with open(images[0], 'wb') as f:  # cut in the middle of the scan: OpenCV would decode it with grey fill
        f.write(data[:len(data) * 2 // 3])
    with open(images[1], 'wb') as f:
        f.write(b'not an image at all')
    return root, images[0], images[1]


def _loader(mode: str):
    from beitmm.registry import TRANSFORMS
    return TRANSFORMS.build(dict(type='beitmm.RobustLoadImageFromFile', on_corrupt=mode))


def test_corrupt_image_error_mode_names_file_and_fix(broken_imagenet):
    from beitmm.datasets.transforms import CorruptImageError
    _, truncated, garbage = broken_imagenet
    loader = _loader('error')
    with pytest.raises(CorruptImageError, match=r"truncated JPEG.*on_corrupt='skip'") as err:
        loader(dict(img_path=truncated))
    assert truncated in str(err.value)
    with pytest.raises(CorruptImageError, match='cannot read it|cannot decode') as err:
        loader(dict(img_path=garbage))
    assert garbage in str(err.value)


def test_corrupt_image_skip_mode_counts_and_dataset_refetches(broken_imagenet):
    import io
    import logging

    from mmengine.logging import MMLogger

    from beitmm.registry import DATASETS
    root, truncated, garbage = broken_imagenet
    dataset = DATASETS.build(dict(type='beitmm.ImageNet', data_root=root, split='train', pipeline=[
        dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'), dict(type='mmpretrain.PackInputs')]))
    loader = dataset.pipeline.transforms[0]
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    MMLogger.get_current_instance().addHandler(handler)
    try:
        for path in (truncated, garbage):
            sample = dataset[paths.index(path)]  # mmengine draws another sample instead
            assert sample['data_samples'].img_path not in (truncated, garbage)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    out = stream.getvalue()  # a refetch may draw a corrupt file again: at least 2 skips
    assert loader.num_skipped >= 2 and f'{loader.num_skipped} skipped so far' in out
    assert f"Skipped corrupt image '{truncated}': truncated JPEG" in out and '1 skipped so far' in out
    assert f"Skipped corrupt image '{garbage}': the cv2 decoder cannot read it" in out
    ok = _loader('skip')(dict(img_path=paths[-1]))
    assert ok['img'].shape == (32, 32, 3)


# ---------------------------------------------------------------- segmentation labels
def test_segmentation_label_out_of_range_names_file(ade20k_root, tmp_path):
    from beitmm.models.decode_heads import SegLabelRangeError
    root = str(tmp_path / 'ade')
    shutil.copytree(ade20k_root, root)
    ann_dir = osp.join(root, 'annotations', 'training')
    for name in sorted(__import__('os').listdir(ann_dir)):
        label = np.array(Image.open(osp.join(ann_dir, name)))
        label[:] = 200  # raw 200 -> 199 after reduce_zero_label, beyond the 150 ADE20K classes
        Image.fromarray(label).save(osp.join(ann_dir, name))
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), root, str(tmp_path / 'work'))
    with pytest.raises(SegLabelRangeError, match=r'\[199\].*outside \[0, 149\].*num_classes=150') as err:
        build_runner(cfg).train()
    assert ann_dir in str(err.value) and 'reduce_zero_label' in str(err.value)


# ---------------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def one_epoch_run(imagenet_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('one_epoch'))
    cfg = cls_config(imagenet_root, work, epochs=1)
    build_runner(cfg).train()
    return work


def test_resume_after_model_change_names_keys_and_fix(one_epoch_run, imagenet_root, tmp_path):
    from beitmm.engine.hooks import ResumeMismatchError
    cfg = cls_config(imagenet_root, str(tmp_path), epochs=2)
    cfg.model.backbone.arch = dict(cfg.model.backbone.arch, num_layers=3)
    cfg.resume, cfg.load_from = True, osp.join(one_epoch_run, 'iter_6.pth')
    with pytest.raises(ResumeMismatchError, match=r'backbone\.blocks\.2\..*load_from') as err:
        build_runner(cfg).train()
    assert 'iter_6.pth' in str(err.value)


def test_unmappable_checkpoint_shapes_name_key_and_fix(one_epoch_run, imagenet_root, tmp_path):
    from beitmm.apis import init_model
    cfg = cls_config(imagenet_root, str(tmp_path))
    cfg.model.backbone.arch = dict(cfg.model.backbone.arch, embed_dims=64, feedforward_channels=128)
    cfg.model.head.in_channels = 64
    with pytest.raises(ValueError, match=r'checkpoint \(\d+(, \d+)*\) vs model .*build the model with'):
        init_model(cfg, osp.join(one_epoch_run, 'iter_6.pth'))


# ---------------------------------------------------------------- config types, masks
def test_unknown_type_suggests_close_matches(imagenet_root, tmp_path):
    from beitmm.engine.config_check import UnknownTypeError
    cfg = cls_config(imagenet_root, str(tmp_path))
    cfg.model.backbone.type = 'beitmm.BEIT'
    cfg.param_scheduler[1]['type'] = 'CosineAnealingLR'
    with pytest.raises(UnknownTypeError) as err:
        build_runner(cfg)
    msg = str(err.value)
    assert "model.backbone.type = 'beitmm.BEIT'" in msg and "did you mean 'beitmm.BEiT'" in msg
    assert "param_scheduler[1].type = 'CosineAnealingLR'" in msg and "'CosineAnnealingLR'" in msg
    assert 'beit-b_in1k.py' in msg


def test_unusable_mask_settings_are_refused(unlabeled_root, tmp_path):
    from beitmm.registry import TRANSFORMS
    with pytest.raises(ValueError, match=r'num_masking_patches must be in \[1, 4\] for a 2x2 grid'):
        TRANSFORMS.build(dict(type='beitmm.BlockwiseMaskGenerator', input_size=2, num_masking_patches=6))
    with pytest.raises(ValueError, match='mask_ratio 0.1 masks no patch of a 2x2 grid'):
        TRANSFORMS.build(dict(type='beitmm.RandomMaskGenerator', input_size=2, mask_ratio=0.1))
    cfg = pretrain_config(unlabeled_root, str(tmp_path))  # 32 px input, but masks drawn for a 3x3 grid
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].endswith('BlockwiseMaskGenerator'):
            t.update(input_size=3)
    with pytest.raises(ValueError, match=r'mask of shape \(3, 3\) does not match the \(2, 2\) patch grid'):
        build_runner(cfg).train()


# ---------------------------------------------------------------- non-finite loss, fp16 overflow
class _PoisonHook(Hook):
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter == 2:  # after the 3rd iteration: the 4th loss is NaN
            with torch.no_grad():
                runner.model.backbone.patch_embed.proj.weight.fill_(float('nan'))


def test_nan_loss_stops_with_iteration_terms_and_checkpoint(imagenet_root, tmp_path):
    from beitmm.engine.hooks import NonFiniteLossError
    cfg = cls_config(imagenet_root, str(tmp_path), epochs=1)
    cfg.default_hooks.checkpoint.interval = 2
    runner = build_runner(cfg)
    runner.register_hook(_PoisonHook())
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 4 (epoch 1, batch 4)' in msg and 'loss=nan' in msg
    assert osp.join(str(tmp_path), 'iter_2.pth') in msg and '--resume' in msg
    assert not osp.exists(osp.join(str(tmp_path), 'iter_4.pth'))  # nothing saved after the NaN


def test_fp16_overflow_steps_counted_and_grad_norm_finite(imagenet_root, tmp_path):
    cfg = cls_config(imagenet_root, str(tmp_path), epochs=1)
    cfg.optim_wrapper.update(loss_scale=dict(init_scale=2.**18), clip_grad=dict(max_norm=3.0))
    runner = build_runner(cfg)
    runner.train()
    hub = runner.message_hub
    skipped = int(hub.get_scalar('train/skipped_steps').current())
    assert 0 < skipped < 6
    norms = hub.get_scalar('train/grad_norm').data[0]
    assert len(norms) == 6 - skipped and np.isfinite(norms).all()
    assert hub.get_scalar('train/loss_scale').current() == 2.**18 / 2**skipped
    assert load(osp.join(str(tmp_path), 'iter_6.pth'))['optimizer']['skipped_steps'] == skipped
