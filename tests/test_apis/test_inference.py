"""beitmm.apis on a classification config: init_model loads any layout, inference_model predicts."""
import numpy as np
import torch

from beitmm.apis import inference_model, init_model
from beitmm.testing.shrink import config_path, tiny_cls_config


def test_init_and_inference_classifier(imagenet_info, tmp_path):
    cfg = tiny_cls_config(config_path('beit/beit-b_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']))
    model = init_model(cfg)
    ckpt = tmp_path / 'model.pth'
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict(dataset_meta=dict(classes=imagenet_info['classes']))), ckpt)
    loaded = init_model(cfg, str(ckpt))
    torch.testing.assert_close(loaded.backbone.blocks[0].attn.qkv.weight, state['backbone.blocks.0.attn.qkv.weight'])
    assert loaded.dataset_meta['classes'] == imagenet_info['classes'] and not loaded.training
    img = (np.random.rand(40, 50, 3) * 255).astype(np.uint8)
    pred = inference_model(loaded, img)
    assert pred.pred_score.shape == (len(imagenet_info['classes']), )
    assert abs(float(pred.pred_score.sum()) - 1) < 1e-4
    path = imagenet_info['root'] + '/val/' + open(imagenet_info['root'] + '/meta/val.txt').readline().split()[0]
    preds = inference_model(loaded, [path, path])
    assert len(preds) == 2 and torch.equal(preds[0].pred_label, preds[1].pred_label)
