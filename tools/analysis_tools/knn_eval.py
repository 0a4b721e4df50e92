"""k-NN evaluation of frozen BEiT features (weighted k-NN of DINO, Caron et al., 2021).

Features of the training images are stored, each validation image votes over its k nearest training
images by cosine similarity with weights exp(sim / T), and top-1 / top-5 accuracies are printed.

Example:
    python tools/analysis_tools/knn_eval.py configs/beitv2/beitv2-b_linear_in1k.py \
        work_dirs/beitv2-b_pretrain-1600e_in1k/epoch_1600.pth --k 20 --feature cls_mean

The config gives the data (``train_dataloader`` / ``val_dataloader``), the preprocessing and the
backbone; any checkpoint layout beitmm converts works (pretraining, fine-tuned, official unilm).
"""
import argparse
import os
import os.path as osp
import runpy
from typing import Dict, List, Optional, Tuple

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

import torch
import torch.nn.functional as F
from mmengine.config import DictAction
from torch import Tensor

FEATURES = ('cls', 'mean', 'cls_mean')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments; ``sys.argv[1:]`` if None.

    Returns:
        Parsed arguments.
    """
    p = argparse.ArgumentParser(description='k-NN accuracy of frozen backbone features')
    p.add_argument('config', help='classification / linear-probe config (data, preprocessing, backbone)')
    p.add_argument('checkpoint', help='checkpoint of any supported layout')
    p.add_argument('--k', type=int, nargs='+', default=[10, 20], help='numbers of neighbours')
    p.add_argument('--temperature', type=float, default=0.07, help='similarity temperature T')
    p.add_argument('--feature', choices=FEATURES, default='cls_mean',
                   help='cls token, mean patch token or both concatenated')
    p.add_argument('--layer', type=int, default=-1, help='block whose output is used (negative: from the end)')
    p.add_argument('--batch-size', type=int, default=None, help='override the dataloaders batch size')
    p.add_argument('--max-train', type=int, default=None, help='use only the first N training images')
    p.add_argument('--trust-checkpoint', action='store_true', help='allow pickled objects in the checkpoint')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value (e.g. train_dataloader.dataset.data_root=DIR)')
    return p.parse_args(argv)


def pool_tokens(tokens: Tensor, feature: str) -> Tensor:
    """Tokens [B, N+1, C] -> image features [B, C] or [B, 2C] (``feature`` in :data:`FEATURES`)."""
    if feature == 'cls':
        return tokens[:, 0]
    if feature == 'mean':
        return tokens[:, 1:].mean(dim=1)
    return torch.cat([tokens[:, 0], tokens[:, 1:].mean(dim=1)], dim=-1)


@torch.no_grad()
def knn_classify(train_feats: Tensor, train_labels: Tensor, test_feats: Tensor, num_classes: int, k: int,
                 temperature: float = 0.07, chunk: int = 256) -> Tensor:
    """Weighted k-NN class scores.

    Args:
        train_feats: Training features [Nt, D] (l2-normalised here).
        train_labels: Their labels [Nt] (long).
        test_feats: Query features [Nq, D].
        num_classes: Number of classes.
        k: Neighbours per query (clipped to Nt).
        temperature: Votes weigh exp(cosine / T).
        chunk: Queries per similarity block (memory bound).

    Returns:
        Class scores [Nq, num_classes] (argmax = prediction).
    """
    train = F.normalize(train_feats.float(), dim=-1)
    k = min(k, train.shape[0])
    scores = []
    for q in F.normalize(test_feats.float(), dim=-1).split(chunk):
        sim, idx = (q @ train.t()).topk(k, dim=-1)  # [b, k]
        votes = torch.zeros(q.shape[0], num_classes).scatter_add_(1, train_labels[idx], (sim / temperature).exp())
        scores.append(votes)
    return torch.cat(scores)


def topk_accuracy(scores: Tensor, labels: Tensor, topk: Tuple[int, ...] = (1, 5)) -> Dict[str, float]:
    """Top-k accuracies (percent) of class scores [N, K] against labels [N]."""
    out = {}
    for t in topk:
        t = min(t, scores.shape[1])
        hit = (scores.topk(t, dim=-1).indices == labels[:, None]).any(dim=-1)
        out[f'top{t}'] = hit.float().mean().item() * 100
    return out


@torch.no_grad()
def extract(backbone, preprocessor, loader, feature: str, limit: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Features [N, D] and labels [N] of a dataloader through the frozen backbone."""
    feats, labels = [], []
    for data in loader:
        data = preprocessor(data, training=False)
        tokens = backbone(data['inputs'])[-1]  # [B, N+1, C]
        feats.append(pool_tokens(tokens, feature))
        labels.append(torch.cat([s.gt_label for s in data['data_samples']]))
        if limit is not None and sum(len(x) for x in labels) >= limit:
            break
    feats, labels = torch.cat(feats), torch.cat(labels).long()
    return (feats[:limit], labels[:limit]) if limit is not None else (feats, labels)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Run the evaluation; returns ``{'k=<k>/top1': ..., 'k=<k>/top5': ...}``."""
    args = parse_args(argv)
    if args.trust_checkpoint:
        os.environ['BEITMM_TRUST_CHECKPOINT'] = '1'
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import beitmm  # noqa: F401
    from beitmm.checkpoint import load_pretrained_backbone
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS
    backbone_cfg = dict(cfg.model.backbone, out_type='raw', out_indices=[args.layer], init_cfg=None,
                        drop_path_rate=0.)
    backbone = MODELS.build(backbone_cfg).eval()
    load_pretrained_backbone(backbone, args.checkpoint)
    pre_cfg = dict(cfg.get('data_preprocessor') or cfg.model.get('data_preprocessor') or {})
    pre_cfg.setdefault('type', 'ClsDataPreprocessor')
    preprocessor = MODELS.build(pre_cfg)
    loaders = []
    for key in ('train_dataloader', 'val_dataloader'):
        dl = cfg[key].copy()
        dl['sampler'] = dict(type='DefaultSampler', shuffle=False)
        if args.batch_size:
            dl['batch_size'] = args.batch_size
        if key == 'train_dataloader':
            dl['dataset'] = dict(dl['dataset'], pipeline=cfg.val_dataloader.dataset.pipeline)  # no augmentation
        loaders.append(Runner.build_dataloader(dl))
    train_feats, train_labels = extract(backbone, preprocessor, loaders[0], args.feature, args.max_train)
    val_feats, val_labels = extract(backbone, preprocessor, loaders[1], args.feature)
    num_classes = int(max(train_labels.max(), val_labels.max())) + 1
    results = {}
    for k in args.k:
        scores = knn_classify(train_feats, train_labels, val_feats, num_classes, k, args.temperature)
        for name, acc in topk_accuracy(scores, val_labels).items():
            results[f'k={k}/{name}'] = acc
    print(f'k-NN ({args.feature} features of block {args.layer}, T={args.temperature}, '
          f'{len(train_labels)} train / {len(val_labels)} val images):')
    for name, acc in results.items():
        print(f'  {name}: {acc:.2f}')
    return results


if __name__ == '__main__':
    main()
