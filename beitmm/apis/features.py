"""Embeddings of images, texts or image-text pairs from a beitmm model: :func:`extract_features`.

What each model kind gives (every embedding L2-normalised, float32):

- retrieval models (``beitmm.DualEncoderRetriever``, ``beitmm.ZeroShotClassifier``; BEiT-3 and VLMo): image and text
  embeddings through their ITC projections (``vision_head`` / ``language_head``, ``itc_{image,text}_proj``), the
  vectors retrieval ranks by, so ``image @ text.T`` are the cosine similarities of :func:`beitmm.apis.rank_texts`;
- VQA models (``beitmm.VQAClassifier``): the pooler output (what the answer head reads) of a fused image-question
  pass (``pairs=True``), of an image-only pass (image cls) or of a text-only pass (first text token);
- image classifiers (mmpretrain ``ImageClassifier``, ``beitmm.LinearProbeClassifier``; BEiT / BEiT v2 / BEiT-3
  backbones): the feature the classification head reads (``extract_feat(stage='pre_logits')``: mean patch token +
  ``fc_norm`` or the cls token, as the backbone's ``out_type`` says).

Images are paths or HxWx3 uint8 BGR arrays, run through the config's test pipeline (the evaluated resolution and
normalisation), so the model must come from :func:`beitmm.apis.init_model`.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import default_collate

from .vl_inference import ImageType, _load, _steps

KINDS = 'retrieval (beitmm.DualEncoderRetriever / ZeroShotClassifier), VQA (beitmm.VQAClassifier), image classifiers'


def model_kind(model: nn.Module) -> str:
    """``'retrieval'``, ``'vqa'`` or ``'classifier'``: how :func:`extract_features` embeds with ``model``.

    Args:
        model: A model from :func:`beitmm.apis.init_model`.

    Returns:
        The kind; raises TypeError naming the model's type when it has none.
    """
    if all(hasattr(model, a) for a in ('image_features', 'text_features', 'tokenize')):
        return 'retrieval'
    from mmpretrain.models.classifiers import ImageClassifier

    from beitmm.models.multimodal import VQAClassifier
    if isinstance(model, VQAClassifier):
        return 'vqa'
    if isinstance(model, ImageClassifier):
        return 'classifier'
    raise TypeError(f'extract_features does not support {type(model).__name__}; it embeds with {KINDS}')


def _as_list(x, what: str) -> list:
    if x is None:
        return []
    if isinstance(x, (str, np.ndarray)):
        return [x]
    if isinstance(x, torch.Tensor):
        raise TypeError(f'{what}: give paths or HxWx3 uint8 BGR arrays (the test pipeline preprocesses them), not a '
                        'tensor')
    return list(x)


def _pixels(model: nn.Module, images: Sequence[ImageType]) -> torch.Tensor:
    """The preprocessed batch [B, 3, H, W] of ``images`` (test pipeline + the model's data preprocessor)."""
    if getattr(model, 'cfg', None) is None:
        raise ValueError('the model has no cfg (its test pipeline): build it with beitmm.apis.init_model')
    steps = _steps(model)
    data = model.data_preprocessor(default_collate([_load(img, steps, {}) for img in images]), False)
    return data['images'] if 'images' in data else data['inputs']


def _embed(model: nn.Module, kind: str, what: str, images: Sequence[ImageType],
           texts: Sequence[str]) -> torch.Tensor:
    """One batch of embeddings [b, D] (not yet normalised) of ``what`` (``image`` / ``text`` / ``pair``)."""
    pixels = _pixels(model, images) if images else None
    ids, pad = model.tokenize(list(texts)) if texts else (None, None)
    if kind == 'retrieval':
        return model.image_features(pixels) if what == 'image' else model.text_features(ids, pad)
    if kind == 'classifier':
        x = model.extract_feat(pixels, stage='pre_logits' if model.with_head else 'neck')
        x = x[-1] if isinstance(x, (tuple, list)) else x
        if x.dim() != 2:
            raise ValueError(f'{type(model).__name__} gives {tuple(x.shape)} features, not [B, C]: use a backbone '
                             "out_type that pools ('avg_featmap' or 'cls_token')")
        return x
    fused = model.encode(pixels, ids, pad)  # VQA: the token the pooler reads, as the answer head
    token = dict(pair=model.fusion_cls, image=model.image_cls, text=model.text_cls)[what](fused)
    return model.pooler(token)


@torch.no_grad()
def extract_features(model: nn.Module, images: Union[None, ImageType, Sequence[ImageType]] = None,
                     texts: Union[None, str, Sequence[str]] = None, pairs: bool = False, batch_size: int = 32,
                     return_numpy: bool = False) -> Dict[str, Union[torch.Tensor, np.ndarray]]:
    """L2-normalised embeddings of images, texts or image-text pairs (see the module for what each model gives).

    Args:
        model: A retrieval, VQA or image classification model from :func:`beitmm.apis.init_model`.
        images: Image paths or HxWx3 uint8 BGR arrays (one or a list).
        texts: Texts (one or a list).
        pairs: Embed ``images[i]`` with ``texts[i]`` in one fused pass (VQA models; equal lengths).
        batch_size: Images / texts / pairs per forward.
        return_numpy: NumPy float32 arrays instead of tensors on the model's device.

    Returns:
        ``{'image': [N, D], 'text': [M, D]}`` (those given), or ``{'pair': [N, D]}`` with ``pairs``.
    """
    kind = model_kind(model)
    images, texts = _as_list(images, 'images'), _as_list(texts, 'texts')
    if not images and not texts:
        raise ValueError('extract_features: give images and/or texts')
    if kind == 'classifier' and texts:
        raise ValueError(f'{type(model).__name__} is an image classifier: it embeds images, not texts')
    if pairs:
        if kind != 'vqa':
            raise ValueError(f'pairs=True needs a fusion model (beitmm.VQAClassifier); {type(model).__name__} '
                             'embeds images and texts apart: call without pairs')
        if len(images) != len(texts):
            raise ValueError(f'pairs=True: {len(images)} images but {len(texts)} texts')
        jobs = {'pair': (images, texts)}
    else:
        jobs = {k: v for k, v in (('image', (images, [])), ('text', ([], texts))) if v[0] or v[1]}
    out = {}
    for what, (imgs, txts) in jobs.items():
        n = max(len(imgs), len(txts))
        chunks: List[torch.Tensor] = []
        for i in range(0, n, batch_size):
            x = _embed(model, kind, what, imgs[i:i + batch_size], txts[i:i + batch_size])
            chunks.append(F.normalize(x.float(), dim=-1))  # [b, D]
        out[what] = torch.cat(chunks)
    if return_numpy:
        return {k: v.cpu().numpy() for k, v in out.items()}
    return out


def embed_inputs(model: nn.Module, inputs: Sequence[Union[ImageType, Dict]], batch_size: int = 1,
                 return_numpy: bool = False) -> List[Union[torch.Tensor, np.ndarray]]:
    """One embedding [D] per input, for :class:`beitmm.apis.FeatureExtractor`.

    Args:
        model: As :func:`extract_features`.
        inputs: Images (path / BGR array), ``{'text': str}``, ``{'image': img}`` or ``{'image': img, 'text': str}``
            (a fused pair, VQA models).
        batch_size: Inputs of one kind per forward.
        return_numpy: NumPy arrays instead of tensors.

    Returns:
        The embeddings, in the order of ``inputs``.
    """
    groups: Dict[str, List[int]] = {'image': [], 'text': [], 'pair': []}
    for i, item in enumerate(inputs):
        if not isinstance(item, dict):
            groups['image'].append(i)
        elif not set(item) <= {'image', 'text'} or not item:
            raise ValueError(f"input {i}: a dict input has 'image' and / or 'text', got keys {sorted(item)}")
        else:
            groups['pair' if len(item) == 2 else next(iter(item))].append(i)
    out: List[Optional[torch.Tensor]] = [None] * len(inputs)
    for what, idx in groups.items():
        if not idx:
            continue
        items = [inputs[i] for i in idx]
        imgs = [it['image'] if isinstance(it, dict) else it for it in items] if what != 'text' else None
        txts = [it['text'] for it in items] if what != 'image' else None
        feats = extract_features(model, imgs, txts, pairs=what == 'pair', batch_size=batch_size,
                                 return_numpy=return_numpy)[what]
        for i, f in zip(idx, feats, strict=True):
            out[i] = f
    return out
