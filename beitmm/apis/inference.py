"""``init_model`` / ``inference_model`` for every beitmm config family."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import MODELS, init_default_scope

ImageType = Union[str, np.ndarray]


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model from a config and load a checkpoint of any supported layout.

    The checkpoint goes through the same conversion as ``load_from`` (official unilm, timm, HF,
    mmpretrain, mmseg or beitmm layouts; a missing backbone weight raises).

    Args:
        config: Config path or object.
        checkpoint: Checkpoint path; None keeps the config's initialisation (including a
            backbone ``init_cfg`` pretrained path, which is then loaded).
        device: 'cpu', 'cuda', 'cuda:1', ...
        cfg_options: Overrides merged into the config.

    Returns:
        The model in eval mode with ``model.cfg`` set (and ``dataset_meta`` when the checkpoint
        carries it).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'beitmm'))
    from beitmm.checkpoint import load_checkpoint_file, register_safe_globals
    register_safe_globals()
    from beitmm.engine.config_fit import resolve_widths
    resolve_widths(cfg)  # widths that follow the backbone (dict(follows='backbone')); explicit numbers are kept
    if checkpoint is not None:
        cfg.model.get('backbone', {}).pop('init_cfg', None)  # the checkpoint replaces pretrained init
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        model.init_weights()
    else:
        from beitmm.checkpoint import load_model_checkpoint
        ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
        load_model_checkpoint(model, ckpt)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
    model.cfg = cfg
    return model.to(device).eval()


def _test_pipeline(cfg: Config) -> list:
    # the pipeline the test loop runs (a top-level `test_pipeline` variable may be stale after overrides)
    loader = cfg.get('test_dataloader') or {}
    pipeline = loader.get('dataset', {}).get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise KeyError('the config has no test pipeline (test_dataloader.dataset.pipeline or test_pipeline)')
    steps = [dict(s) for s in pipeline if s['type'] not in ('LoadAnnotations', 'mmseg.LoadAnnotations')]
    return steps


def inference_model(model: nn.Module, imgs: Union[ImageType, Sequence[ImageType]],
                    text: Optional[Union[str, Sequence[str]]] = None) -> Union[object, List[object]]:
    """Run a model built by :func:`init_model` on image paths or BGR arrays (and texts for VL models).

    Args:
        model: Classifier (mmpretrain), segmentor (mmseg) or VL task model from :func:`init_model`.
        imgs: One image or a list; paths or HxWx3 uint8 BGR arrays. NLVR2: the two images of the statement.
        text: VQA: the question; NLVR2: the statement; retrieval: the candidate texts (a list); captioning and
            vision models: None.

    Returns:
        Data sample(s): ``pred_score`` / ``pred_label`` for classifiers, ``pred_sem_seg`` / ``seg_logits`` for
        segmentors, ``pred_answer`` (+ ``pred_label`` / ``pred_score``) for VQA, ``pred_caption`` for captioning,
        ``pred_label`` (1 = true) / ``pred_score`` for NLVR2; retrieval: a dict with ``i2t`` [images, texts] and
        ``t2i`` [texts, images] cosine similarities.
    """
    from beitmm.models.multimodal import VLBaseModel
    if isinstance(model, VLBaseModel):
        from .vl_inference import vl_inference
        return vl_inference(model, imgs, text)
    single = isinstance(imgs, (str, np.ndarray))
    imgs = [imgs] if single else list(imgs)
    cfg = model.cfg
    init_default_scope(cfg.get('default_scope', 'beitmm'))
    steps = _test_pipeline(cfg)
    results = []
    for img in imgs:
        if isinstance(img, np.ndarray):
            # the array replaces the loading step
            steps_i = [s for s in steps if not s['type'].endswith('LoadImageFromFile')]
            data = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        else:
            steps_i, data = steps, dict(img_path=img)
        results.append(Compose(steps_i)(data))
    with torch.no_grad():
        preds = model.test_step(pseudo_collate(results))
    return preds[0] if single else preds
