"""What the web demo does with each model, without gradio: load, detect the task, predict on an RGB photo.

Every function takes the photo as gradio hands it over (HxWx3 uint8 **RGB**) and calls the beitmm inference APIs
(:mod:`beitmm.apis`) on the BGR array they expect. The demo configs (``configs/demo/``) test on 64 px generated
images and their test pipelines have no resize step; a real photo is then resized to the backbone's ``img_size``
first (Pillow bicubic, the demo's training interpolation: a choice), so the model sees the resolution it was trained
on. Configs whose test pipeline resizes (every released config) get the photo as it is.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

TASKS = ('classification', 'segmentation', 'vqa', 'caption', 'retrieval')
ZERO_SHOT_SCALE = 100.  # softmax temperature when the model has no learned logit_scale (CLIP's value: a choice)
PALETTE_SEED = 42  # colours of classes without a dataset palette (a choice)


@dataclass
class DemoModel:
    """One loaded model of the demo.

    Args:
        name: Label in the model menus (the config's file name, without ``.py``).
        task: One of :data:`TASKS`.
        model: The model from :func:`beitmm.apis.init_model`.
        input_size: ``(height, width)`` the photo is resized to first; None: the test pipeline resizes.
    """
    name: str
    task: str
    model: nn.Module
    input_size: Optional[Tuple[int, int]]


def detect_task(model: nn.Module) -> Optional[str]:
    """The demo task of a model built by ``init_model``, by its class; None if the demo has no tab for it."""
    from mmpretrain.models.classifiers import BaseClassifier
    from mmseg.models.segmentors import BaseSegmentor

    from beitmm.models.multimodal import VLBaseModel
    from beitmm.models.multimodal.retrieval import DualEncoderRetriever
    if isinstance(model, BaseSegmentor):
        return 'segmentation'
    if isinstance(model, DualEncoderRetriever):
        return 'retrieval'
    if isinstance(model, VLBaseModel):
        return {'VQAClassifier': 'vqa', 'BEiT3Captioner': 'caption'}.get(type(model).__name__)
    if isinstance(model, BaseClassifier):
        return 'classification'
    return None


def input_size(cfg) -> Optional[Tuple[int, int]]:
    """``(h, w)`` to resize photos to: the backbone's ``img_size`` when the test pipeline has no resize / crop."""
    from beitmm.apis.inference import _test_pipeline
    if any('Resize' in s['type'] or 'Crop' in s['type'] for s in _test_pipeline(cfg)):
        return None
    size = cfg.model.get('backbone', {}).get('img_size')
    if size is None:
        return None
    return (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))


def load_models(specs: Sequence[Tuple[str, str]], device: str = 'cpu',
                cfg_options: Optional[dict] = None) -> List[DemoModel]:
    """Build every ``(config, checkpoint)`` pair and detect its task.

    Args:
        specs: ``(config path, checkpoint path)`` pairs.
        device: Where the models run.
        cfg_options: Overrides merged into every config (e.g. ``model.tokenizer.model_file``).

    Returns:
        The models, named after their config files (``#2`` ... on repeats).
    """
    from beitmm.apis import init_model
    out: List[DemoModel] = []
    for config, ckpt in specs:
        for path, what in ((config, 'config'), (ckpt, 'checkpoint')):
            if not osp.isfile(path):
                raise FileNotFoundError(f'web demo: {what} {path!r} does not exist')
        model = init_model(config, ckpt, device=device, cfg_options=cfg_options)
        task = detect_task(model)
        if task is None:
            raise ValueError(f'web demo: {config} builds a {type(model).__name__}; the demo has tabs for image '
                             'classifiers, segmentors and BEiT-3 / VLMo VQA, captioning and retrieval models')
        if task == 'vqa':
            from beitmm.apis.vl_inference import _answers
            try:
                _answers(model)
            except ValueError as e:
                raise ValueError(f'web demo: {ckpt}: {e}') from None
        name = osp.splitext(osp.basename(config))[0]
        repeats = sum(m.name.split(' #')[0] == name for m in out)
        out.append(DemoModel(f'{name} #{repeats + 1}' if repeats else name, task, model, input_size(model.cfg)))
    return out


def to_input(dm: DemoModel, rgb: np.ndarray) -> np.ndarray:
    """The BGR array the APIs get: the RGB photo, resized to ``dm.input_size`` when set."""
    if rgb is None:
        raise ValueError('give an image first')
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    if dm.input_size is not None and rgb.shape[:2] != dm.input_size:
        h, w = dm.input_size
        rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BICUBIC))
    return np.ascontiguousarray(rgb[..., ::-1])  # RGB -> BGR


def _names(model: nn.Module, key: str, n: int, prefix: str) -> List[str]:
    names = (getattr(model, 'dataset_meta', None) or {}).get(key)
    return list(names) if names is not None and len(names) == n else [f'{prefix} {i}' for i in range(n)]


def classify(dm: DemoModel, rgb: np.ndarray, topk: int = 5) -> Dict[str, float]:
    """The ``topk`` classes with their probabilities (``inference_model``'s ``pred_score``)."""
    from beitmm.apis import inference_model
    scores = inference_model(dm.model, to_input(dm, rgb)).pred_score.float().cpu()  # [num_classes]
    names = _names(dm.model, 'classes', scores.numel(), 'class')
    top = scores.topk(min(int(topk), scores.numel()))
    return {names[i]: float(s) for s, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)}


def palette(model: nn.Module, n: int) -> np.ndarray:
    """``[n, 3]`` uint8 RGB class colours: the checkpoint's dataset palette, else fixed random colours."""
    pal = (getattr(model, 'dataset_meta', None) or {}).get('palette')
    if pal is not None and len(pal) == n:
        return np.asarray(pal, dtype=np.uint8)
    return np.random.default_rng(PALETTE_SEED).integers(0, 256, (n, 3), dtype=np.uint8)


def segment(dm: DemoModel, rgb: np.ndarray, alpha: float = 0.5) -> Tuple[np.ndarray, Dict[str, float]]:
    """The predicted classes coloured over the photo, and each class's share of the predicted pixels.

    Args:
        dm: A segmentation model.
        rgb: HxWx3 uint8 RGB photo.
        alpha: Opacity of the class colours.

    Returns:
        The HxWx3 uint8 RGB overlay (the label map is upsampled to the photo by nearest neighbour; ignored pixels
        keep the photo) and ``{class name: fraction}`` of the model's output pixels, largest first.
    """
    from beitmm.apis import inference_model
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    pred = inference_model(dm.model, to_input(dm, rgb))
    labels = pred.pred_sem_seg.data[0].cpu().numpy().astype(np.int32)  # [h, w]
    n = int(pred.seg_logits.data.shape[0]) if 'seg_logits' in pred else int(labels.max()) + 1
    if labels.shape != rgb.shape[:2]:
        labels_full = np.asarray(Image.fromarray(labels).resize(rgb.shape[1::-1], Image.NEAREST))  # [H, W]
    else:
        labels_full = labels
    valid = (labels_full >= 0) & (labels_full < n)
    colours = palette(dm.model, n)[np.where(valid, labels_full, 0)]  # [H, W, 3]
    blend = (1 - alpha) * rgb.astype(np.float32) + alpha * colours.astype(np.float32)
    overlay = np.where(valid[..., None], np.round(blend), rgb).astype(np.uint8)
    names = _names(dm.model, 'classes', n, 'class')
    counts = np.bincount(labels[(labels >= 0) & (labels < n)], minlength=n)
    order = np.argsort(-counts, kind='stable')
    return overlay, {names[i]: float(counts[i] / labels.size) for i in order if counts[i]}


def answer(dm: DemoModel, rgb: np.ndarray, question: str, topk: int = 5) -> Dict[str, float]:
    """The ``topk`` answers with their sigmoid scores (``answer_question``)."""
    from beitmm.apis import answer_question
    if not question or not question.strip():
        raise ValueError('type a question')
    return dict(answer_question(dm.model, to_input(dm, rgb), question.strip(), topk=int(topk)))


def caption(dm: DemoModel, rgb: np.ndarray) -> str:
    """The generated caption (``caption_image``: beam search with the config's settings)."""
    from beitmm.apis import caption_image
    return caption_image(dm.model, to_input(dm, rgb))


def split_lines(text: str) -> List[str]:
    """The non-empty stripped lines of ``text``."""
    return [t.strip() for t in (text or '').splitlines() if t.strip()]


def rank_texts_for_image(dm: DemoModel, rgb: np.ndarray, texts: Sequence[str]) -> List[Tuple[str, float]]:
    """``(text, cosine similarity)`` from best to worst match for the photo (``rank_texts``)."""
    from beitmm.apis import rank_texts
    if not texts:
        raise ValueError('type at least one candidate text (one per line)')
    return [(texts[i], s) for i, s in rank_texts(dm.model, to_input(dm, rgb), list(texts))]


def rank_images_for_text(dm: DemoModel, text: str, photos: Sequence[np.ndarray]) -> List[Tuple[int, float]]:
    """``(photo index, cosine similarity)`` from best to worst match for ``text`` (``rank_images``)."""
    from beitmm.apis import rank_images
    if not text or not text.strip():
        raise ValueError('type a query text')
    if not photos:
        raise ValueError('upload at least one image')
    return rank_images(dm.model, text.strip(), [to_input(dm, p) for p in photos])


def zero_shot_prompts(class_names: str, template: str) -> Tuple[List[str], List[str]]:
    """Class names (comma- or line-separated) and their prompts (``template`` with ``{}`` for the name)."""
    names = list(dict.fromkeys(c.strip() for c in (class_names or '').replace('\n', ',').split(',') if c.strip()))
    if not names:
        raise ValueError('type the class names, separated by commas')
    if (template or '').count('{}') != 1:
        raise ValueError(f"the template needs exactly one '{{}}' where the class name goes, got {template!r}")
    return names, [template.format(n) for n in names]


def zero_shot(dm: DemoModel, rgb: np.ndarray, class_names: str, template: str = 'a photo of a {}.') -> Dict[str,
                                                                                                          float]:
    """Zero-shot class probabilities: softmax over the prompts' cosine similarities times the model's scale.

    Args:
        dm: A retrieval (dual encoder) model.
        rgb: HxWx3 uint8 RGB photo.
        class_names: Class names, comma- or line-separated.
        template: Prompt with ``{}`` where each class name goes.

    Returns:
        ``{class name: probability}``, most likely first.
    """
    from beitmm.apis import rank_texts
    names, prompts = zero_shot_prompts(class_names, template)
    ranked = rank_texts(dm.model, to_input(dm, rgb), prompts)  # [(prompt index, cosine)], best first
    scale = getattr(dm.model, 'logit_scale', None)
    scale = float(scale.detach().exp()) if isinstance(scale, torch.Tensor) else ZERO_SHOT_SCALE
    probs = torch.tensor([s for _, s in ranked]).mul(scale).softmax(0).tolist()
    return {names[i]: p for (i, _), p in zip(ranked, probs, strict=True)}
