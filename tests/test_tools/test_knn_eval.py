"""k-NN evaluation tool: the voting maths and a run on the tiny ImageNet layout."""
import importlib.util
import os.path as osp

import torch

from beitmm.testing.shrink import TINY, config_path, tiny_cls_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location('knn_eval', osp.join(ROOT, 'tools/analysis_tools/knn_eval.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_weighted_knn_votes():
    knn = _tool()
    train = torch.tensor([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9], [-1., 0.]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    scores = knn.knn_classify(train, labels, torch.tensor([[1., 0.05], [0.05, 1.], [-1., 0.1]]), 3, k=2)
    assert scores.argmax(-1).tolist() == [0, 1, 2]
    sim = torch.nn.functional.normalize(train, dim=-1) @ torch.nn.functional.normalize(torch.tensor([1., .05]), dim=0)
    top = sim.topk(2).values
    torch.testing.assert_close(scores[0, 0], (top / 0.07).exp().sum())
    acc = knn.topk_accuracy(scores, torch.tensor([0, 1, 1]), topk=(1, 5))
    assert abs(acc['top1'] - 200 / 3) < 1e-4 and acc['top3'] == 100.
    tokens = torch.arange(12.).view(1, 3, 4)
    assert knn.pool_tokens(tokens, 'cls_mean').shape == (1, 8)
    torch.testing.assert_close(knn.pool_tokens(tokens, 'mean'), tokens[:, 1:].mean(1))


def test_knn_tool_runs_on_a_config_and_checkpoint(imagenet_info, tmp_path, capsys):
    knn = _tool()
    cfg = tiny_cls_config(config_path('beitv2/beitv2-b_linear_in1k.py'), imagenet_info['root'], str(tmp_path),
                          num_classes=len(imagenet_info['classes']), size=32)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    from beitmm.registry import MODELS
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='beitmm.BEiT', arch=TINY, img_size=32, use_rel_pos_bias=False,
                                 use_shared_rel_pos_bias=True, use_mask_token=True))
    ckpt = str(tmp_path / 'pretrain.pth')
    torch.save({'state_dict': {'backbone.' + k: v for k, v in backbone.state_dict().items()}}, ckpt)
    res = knn.main([cfg_path, ckpt, '--k', '1', '3', '--batch-size', '4'])
    assert set(res) == {'k=1/top1', 'k=1/top4', 'k=3/top1', 'k=3/top4'}
    assert all(0 <= v <= 100 for v in res.values()) and res['k=1/top4'] == 100.
    assert '12 val images' in capsys.readouterr().out
