"""BEiT-3 pretraining recipe against the paper and BEiT v1's augmentation code.

The references are written out here: BEiT v1's pretraining views from unilm ``beit/datasets.py:33-39``
(``ColorJitter(0.4, 0.4, 0.4)``, ``RandomHorizontalFlip(0.5)``, then the two-view crop), ``beit/transforms.py:82``
(crop area 0.08-1, aspect 3/4-4/3) and ``beit/run_beit_pretraining.py:94`` (bicubic), which BEiT-3 adopts ("the same
image augmentation as in BEiT", §2.3); and the optimisation of the BEiT-3 paper's Table 11.
"""
import numpy as np
import pytest
from mmengine.config import Config

from beitmm.registry import TRANSFORMS
from beitmm.testing.shrink import config_path

BEIT_V1_VIEWS = dict(jitter=(0.4, 0.4, 0.4, 0.), flip=0.5, crop_scale=(0.08, 1.0), crop_ratio=(3 / 4, 4 / 3),
                     interpolation='bicubic')
TABLE_11 = dict(lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05, clip=3.0, warmup=10_000, steps=1_000_000,
                drop_path=0.1, batch=2048)


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(config_path('beit3/beit3-b_pretrain_vl-corpus.py'))


def _kinds(steps):
    return [s['type'].rpartition('.')[2] for s in steps]


def _jitter(step):
    return step.brightness, step.contrast, step.saturation, step.hue


def test_image_stream_is_beit_v1s_augmentation(cfg):
    steps = cfg.train_dataloader.dataset.sources.image.pipeline
    assert _kinds(steps) == ['RobustLoadImageFromFile', 'ColorJitter', 'RandomFlip', 'TwoViewRandomResizedCrop',
                             'BlockwiseMaskGenerator', 'PackPretrainInputs']  # BEiT's order: jitter, flip, crop
    jitter, flip, crop = steps[1:4]
    assert _jitter(jitter) == BEIT_V1_VIEWS['jitter']
    assert (flip.prob, flip.direction) == (BEIT_V1_VIEWS['flip'], 'horizontal')
    assert tuple(crop.scale) == BEIT_V1_VIEWS['crop_scale'] and crop.ratio == pytest.approx(BEIT_V1_VIEWS['crop_ratio'])
    assert (crop.interpolation, crop.size, crop.second_size) == (BEIT_V1_VIEWS['interpolation'], 224, None)
    np.random.seed(0)  # the views run: one 224 px view (VQ-KD reads it too), 75 of 196 patches masked
    out = dict(img=np.random.randint(0, 256, (180, 250, 3), dtype=np.uint8))
    for step in steps[1:5]:
        out = TRANSFORMS.build(step.to_dict())(out)
    assert out['img'].shape == (224, 224, 3) and 'img_tokenizer' not in out and out['mask'].sum() == 75


def test_pair_stream_keeps_the_jitter_and_departs_only_in_crop_and_flip(cfg):
    steps = cfg.train_dataloader.dataset.sources.pair.pipeline
    assert _kinds(steps) == ['RobustLoadImageFromFile', 'ColorJitter', 'RandomResizedCrop', 'BlockwiseMaskGenerator',
                             'MaskText', 'PackPretrainInputs']  # no flip: it would falsify left / right captions
    assert _jitter(steps[1]) == BEIT_V1_VIEWS['jitter']
    assert tuple(steps[2].crop_ratio_range) == (0.5, 1.0)  # VLMo's pair crop, beitmm's departure from BEiT's 0.08
    assert steps[4].mask_ratio == 0.5 and steps[3].num_masking_patches == 75  # 50% of the text; 40% of the patches


def test_optimisation_is_table_11(cfg):
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, tuple(opt.betas), opt.eps, opt.weight_decay) == (TABLE_11['lr'], TABLE_11['betas'],
                                                                     TABLE_11['eps'], TABLE_11['weight_decay'])
    assert cfg.optim_wrapper.clip_grad.max_norm == TABLE_11['clip']
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin == TABLE_11['warmup'] and cosine.type == 'CosineAnnealingLR'
    assert cfg.train_cfg.max_iters == cosine.end == TABLE_11['steps']
    backbone = cfg.model.backbone
    assert backbone.drop_path_rate == TABLE_11['drop_path'] and backbone.rescale_init is True  # §2.3, footnote 4
    counts = cfg.train_dataloader.dataset.counts
    assert {k: 16 * v for k, v in counts.items()} == dict(image=TABLE_11['batch'], text=TABLE_11['batch'],
                                                          pair=TABLE_11['batch'])  # 16 ranks
