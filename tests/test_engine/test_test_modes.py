"""``--tta`` (beitmm.engine.test_modes.apply_tta) against hand computations on tiny models.

Classification: the mean of the softmax of the image and of its horizontal flip (mmpretrain ``AverageClsScoreTTA``).
Segmentation: unilm's multi-scale + flip (the ADE20K base's 6 short sides x 2 flips, scaled to 32 px crops), each
view's logits cropped to the view, flipped back, resized bilinearly to the image, softmaxed, averaged, argmaxed (mmseg
``SegTTAModel``). The hand computations call the plain model on views made with mmcv / torch directly.
"""
import copy
import os.path as osp
import pickle

import mmcv
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData

from beitmm.apis import init_model
from beitmm.engine.runner import build_runner
from beitmm.engine.test_modes import apply_tta, flip_tta_pipeline
from beitmm.testing.shrink import config_path, tiny_cls_config, tiny_seg_config


def _save(model, path: str) -> str:
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def _tta_outputs(cfg: Config, ckpt: str, work: str) -> dict:
    """Run the TTA config through the Runner; ``{img_path: output dict}`` and the metrics."""
    cfg = copy.deepcopy(cfg)
    apply_tta(cfg)
    dump = osp.join(work, 'out.pkl')
    cfg.test_evaluator = [cfg.test_evaluator, dict(type='DumpResults', out_file_path=dump)]
    cfg.load_from = ckpt
    metrics = build_runner(cfg).test()
    with open(dump, 'rb') as f:
        return {d['img_path']: d for d in pickle.load(f)}, metrics


@pytest.fixture(scope='module')
def classifier(imagenet_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('cls_tta'))
    cfg = tiny_cls_config(config_path('beit/beit-b_ft22k_in1k.py'), imagenet_root, work, num_classes=4)
    cfg.test_dataloader.dataset.indices = 3
    model = init_model(cfg)
    torch.manual_seed(0)
    model.head.fc.weight.data.normal_(0, 1.0)  # scores far from uniform
    return cfg, model, _save(model, osp.join(work, 'cls.pth')), work


def test_classification_flip_tta_is_the_mean_of_two_softmaxes(classifier):
    cfg, model, ckpt, work = classifier
    outputs, metrics = _tta_outputs(cfg, ckpt, work)
    assert 'accuracy/top1' in metrics and len(outputs) == 3
    dataset = build_runner(copy.deepcopy(cfg)).test_dataloader.dataset  # the plain (one-view) test pipeline
    for i in range(len(dataset)):
        item = dataset[i]
        views = [item['inputs'], item['inputs'].flip(-1)]  # [3, H, W] uint8, and mirrored left-right
        scores = []
        for view in views:
            batch = model.data_preprocessor({'inputs': [view], 'data_samples': [item['data_samples']]}, False)
            with torch.no_grad():
                scores.append(model(batch['inputs'], mode='tensor').softmax(-1)[0])  # [num_classes]
        hand = (scores[0] + scores[1]) / 2
        assert not torch.allclose(scores[0], scores[1])  # the flip changes the scores
        torch.testing.assert_close(outputs[item['data_samples'].img_path]['pred_score'], hand, rtol=0, atol=1e-6)


def test_flip_pipeline_keeps_the_views_before_packing():
    pipeline = [dict(type='LoadImageFromFile'), dict(type='CenterCrop', crop_size=8), dict(type='PackInputs')]
    tta = flip_tta_pipeline(pipeline)
    assert tta[:2] == pipeline[:2] and tta[2]['type'] == 'TestTimeAug'
    assert [v['prob'] for v in tta[2]['transforms'][0]] == [0., 1.] and tta[2]['transforms'][1] == [pipeline[2]]


@pytest.mark.parametrize('base,sides', [('ade20k_640x640.py', [640, 640, 640, 800, 960, 1120]),
                                        ('ade20k_512x512.py', [512, 512, 512, 640, 768, 896])])
def test_ade20k_tta_views_are_unilms(base, sides):
    """Unilm *_ms.py: img_ratios 0.5-1.75 of (4 x crop, crop), SETR_Resize clamps the short side at the crop."""
    cfg = Config.fromfile(config_path(f'_base_/datasets/{base}'))
    step = cfg.tta_pipeline[1]
    assert step['type'] == 'TestTimeAug' and cfg.tta_model['type'] == 'SegTTAModel'
    assert [t['scale'] for t in step['transforms'][0]] == [(4 * s, s) for s in sides]
    assert all(t['keep_ratio'] for t in step['transforms'][0])
    assert [(t['prob'], t['direction']) for t in step['transforms'][1]] == [(0., 'horizontal'), (1., 'horizontal')]


def test_tta_needs_settings_unless_the_model_classifies():
    cfg = Config(dict(model=dict(type='EncoderDecoder'), test_dataloader=dict(dataset=dict(pipeline=[]))))
    with pytest.raises(ValueError, match='tta_model and tta_pipeline'):
        apply_tta(cfg)


def _hand_seg(model, path: str, sides: list) -> torch.Tensor:
    """Multi-scale + flip as unilm's, computed view by view with the plain segmentor."""
    img = mmcv.imread(path)  # [H, W, 3] BGR, as the loader reads it
    total = 0
    for side in sides:
        for flip in (False, True):
            view = mmcv.imrescale(img, (4 * side, side), interpolation='bilinear', backend='cv2')
            if flip:
                view = view[:, ::-1]
            x = torch.from_numpy(view.copy()).permute(2, 0, 1)  # [3, h, w]
            from mmseg.structures import SegDataSample
            sample = SegDataSample(metainfo=dict(img_shape=view.shape[:2], ori_shape=img.shape[:2]))
            batch = model.data_preprocessor({'inputs': [x], 'data_samples': [sample]}, False)  # normalise, pad to 16
            with torch.no_grad():
                logits = model.inference(batch['inputs'], [batch['data_samples'][0].metainfo])  # [1, K, H16, W16]
            logits = logits[:, :, :view.shape[0], :view.shape[1]]
            if flip:
                logits = logits.flip(-1)
            logits = F.interpolate(logits, size=img.shape[:2], mode='bilinear', align_corners=False)
            total = total + logits[0].softmax(0)  # [K, H, W]
    return (total / (2 * len(sides))).argmax(0)  # [H, W]


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_segmentation_multiscale_flip_tta_by_hand(mode, ade20k_root, tmp_path):
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), ade20k_root, str(tmp_path))
    cfg.test_dataloader.dataset.indices = 1
    # unilm slides a crop over each view; 48 px crops, stride 32: one crop for the smaller views, 2 x 2 overlapping
    # ones for the largest (56 px, padded to 64)
    cfg.model.test_cfg = dict(mode='whole') if mode == 'whole' else dict(mode='slide', crop_size=(48, 48),
                                                                         stride=(32, 32))
    sides = [t['scale'][1] for t in cfg.tta_pipeline[1]['transforms'][0]]
    assert sides == [32, 32, 32, 40, 48, 56]  # 640 .. 1120 at 32 / 640
    model = init_model(cfg)
    ckpt = _save(model, str(tmp_path / 'seg.pth'))
    outputs, metrics = _tta_outputs(cfg, ckpt, str(tmp_path))
    assert 0 <= metrics['mIoU'] <= 100 and len(outputs) == 1
    for path, out in outputs.items():
        pred = out['pred_sem_seg']
        pred = (pred.data if isinstance(pred, PixelData) else pred['data'])[0]  # [H, W]
        hand = _hand_seg(model, path, sides)
        assert pred.shape == hand.shape and torch.equal(pred, hand)


def test_checkpoint_conversion_reaches_the_model_inside_the_tta_wrapper():
    """``tools/test.py --tta`` loads official layouts too: the hook converts for the segmentor inside SegTTAModel."""
    from types import SimpleNamespace

    import torch.nn as nn
    from mmseg.models import SegTTAModel

    from beitmm.engine.hooks.convert_checkpoint import CheckpointConvertHook
    from beitmm.models.backbones import BEiT
    from beitmm.testing.shrink import TINY

    class _Model(nn.Module):

        def __init__(self) -> None:
            super().__init__()
            self.backbone = BEiT(arch=TINY, img_size=64, use_rel_pos_bias=True, use_abs_pos_emb=False)

        def test_step(self, data):  # what BaseTTAModel asks of the model it wraps
            raise NotImplementedError

    pre = BEiT(arch=TINY, img_size=32, use_rel_pos_bias=False, use_shared_rel_pos_bias=True, use_abs_pos_emb=False)
    state = {f'backbone.{k}': v for k, v in pre.state_dict().items()}  # a pretraining file: one 2 x 2-grid table
    ckpt = dict(state_dict=state)
    CheckpointConvertHook().after_load_checkpoint(SimpleNamespace(model=SegTTAModel(module=_Model())), ckpt)
    table = ckpt['state_dict']['backbone.blocks.1.attn.relative_position_bias_table']
    assert table.shape == _Model().backbone.blocks[1].attn.relative_position_bias_table.shape  # 4 x 4 grid
    assert 'backbone.rel_pos_bias.relative_position_bias_table' not in ckpt['state_dict']
