"""configs/beit/upernet_beit-b_cp_ade20k.py: the same UperNet losses and gradients as the plain config.

And it trains.
"""
import copy

import torch
from mmengine.registry import DefaultScope

from beitmm.engine.runner import build_runner
from beitmm.testing.shrink import config_path, tiny_seg_config


def _batch(model, seed=0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    imgs = torch.rand(2, 3, 32, 32, generator=g) * 255
    samples = []
    for _ in range(2):
        lbl = torch.randint(0, 4, (1, 32, 32), generator=g)
        lbl[:, :3] = 255
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=lbl), metainfo=dict(img_shape=(32, 32),
                                                                                   pad_shape=(32, 32))))
    return model.data_preprocessor(dict(inputs=list(imgs), data_samples=samples), training=True)


def test_checkpointed_config_same_losses_and_gradients(ade20k_root, tmp_path):
    plain_cfg = tiny_seg_config(config_path('beit/upernet_beit-b_ade20k.py'), ade20k_root, str(tmp_path / 'a'))
    cp_cfg = tiny_seg_config(config_path('beit/upernet_beit-b_cp_ade20k.py'), ade20k_root, str(tmp_path / 'b'))
    assert cp_cfg.model.backbone.with_cp and cp_cfg.model.decode_head.with_cp and cp_cfg.model.auxiliary_head.with_cp
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        for cfg in (plain_cfg, cp_cfg):  # no dropout / drop path: both passes draw no random numbers
            cfg.model.backbone.drop_path_rate = 0.
            cfg.model.decode_head.dropout_ratio = cfg.model.auxiliary_head.dropout_ratio = 0.
            cfg.model.decode_head.norm_cfg = cfg.model.auxiliary_head.norm_cfg = cfg.model.neck.norm_cfg = \
                dict(type='BN', requires_grad=True)
        torch.manual_seed(0)
        plain = MODELS.build(copy.deepcopy(plain_cfg.model))
        cp = MODELS.build(copy.deepcopy(cp_cfg.model))
        cp.load_state_dict(plain.state_dict())
        results = []
        for model in (plain, cp):
            model.train()
            data = _batch(model)
            losses = model.loss(data['inputs'], data['data_samples'])
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            results.append((losses, {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (l_plain, g_plain), (l_cp, g_cp) = results
    assert set(l_cp) == set(l_plain)
    for k in l_plain:
        torch.testing.assert_close(l_cp[k], l_plain[k], rtol=1e-5, atol=1e-5)
    assert set(g_cp) == set(g_plain) and len(g_plain) > 20
    for n in g_plain:
        torch.testing.assert_close(g_cp[n], g_plain[n], rtol=1e-3, atol=1e-5, msg=n)


def test_checkpointed_config_trains(ade20k_root, tmp_path):
    cfg = tiny_seg_config(config_path('beit/upernet_beit-b_cp_ade20k.py'), ade20k_root, str(tmp_path))
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2
