"""Vision-language inference: answer a question, caption an image, rank images / texts, judge an NLVR2 statement.

Every function takes a model from :func:`beitmm.apis.init_model` and images as paths or HxWx3 uint8 BGR arrays, runs
the config's test pipeline (so resolution and normalisation are the evaluated ones) and returns plain Python values.
"""
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import Compose, default_collate
from mmengine.registry import init_default_scope

ImageType = Union[str, np.ndarray]


def _steps(model: nn.Module) -> list:
    from .inference import _test_pipeline
    init_default_scope(model.cfg.get('default_scope', 'beitmm'))
    return _test_pipeline(model.cfg)


def _without_loader(steps: list) -> list:
    return [s for s in steps if not s['type'].endswith('LoadImageFromFile')]


def _load(img: ImageType, steps: list, extra: dict) -> dict:
    """Run the single-image test pipeline on a path or a BGR array with the extra (text) fields."""
    if isinstance(img, np.ndarray):
        data = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], **extra)
        return Compose(_without_loader(steps))(data)
    return Compose(steps)(dict(img_path=img, **extra))


def _load_pair(imgs: Sequence[ImageType], steps: list, extra: dict) -> dict:
    """Run an NLVR2 test pipeline (``ApplyToList`` over the two images, then packing) on two images."""
    if len(imgs) != 2:
        raise ValueError(f'an NLVR2 statement is about 2 images, got {len(imgs)}')
    scatter = next((s for s in steps if s['type'].endswith('ApplyToList')), None)
    if scatter is None:
        raise ValueError("the config's test pipeline has no ApplyToList step: it is not an NLVR2 config")
    per_image = [_load(img, scatter['transforms'], {}) for img in imgs]
    data = dict(per_image[0], **extra)
    for key in set(scatter.get('collate_keys', ())) | {scatter['scatter_key']}:
        if key in per_image[0]:
            data[key] = [d[key] for d in per_image]
    rest = steps[steps.index(scatter) + 1:]
    return Compose(rest)(data)


def _run(model: nn.Module, items: List[dict], mode: str = 'predict'):
    batch = model.data_preprocessor(default_collate(items), False)
    with torch.no_grad():
        return model(batch['images'], batch['data_samples'], mode=mode)


def _answers(model: nn.Module):
    answers = getattr(model, 'answers', None) or (getattr(model, 'dataset_meta', None) or {}).get('answers')
    if answers is None:
        raise ValueError('the model does not know its answer vocabulary: load a checkpoint trained by beitmm (its '
                         "meta carries dataset_meta['answers']) or set model.answers = [...] (answer2label order)")
    if len(answers) != model.num_labels:
        raise ValueError(f'{len(answers)} answers for a head of num_labels={model.num_labels}: the vocabulary does '
                         'not belong to this model')
    return answers


def answer_question(model: nn.Module, img: ImageType, question: str, topk: int = 1) -> List[Tuple[str, float]]:
    """The ``topk`` answers (with their sigmoid scores) of a VQA classifier to ``question`` about ``img``."""
    item = _load(img, _steps(model), dict(question=question))
    logits = _run(model, [item], mode='tensor')[0].float().sigmoid()  # [num_labels]
    answers = _answers(model)
    scores, labels = logits.topk(min(topk, logits.numel()))
    return [(answers[i], float(s)) for s, i in zip(scores.tolist(), labels.tolist(), strict=True)]


def caption_image(model: nn.Module, img: ImageType) -> str:
    """The caption a captioning model generates for ``img`` (beam search with the config's settings)."""
    item = _load(img, _steps(model), dict(image_id=0))
    return _run(model, [item])[0].pred_caption


def judge_statement(model: nn.Module, imgs: Sequence[ImageType], statement: str) -> Tuple[bool, float]:
    """Whether an NLVR2 model judges ``statement`` true of the image pair, and its probability of True."""
    item = _load_pair(imgs, _steps(model), dict(text=statement))
    prob = _run(model, [item])[0].pred_score.float()  # [2]: False, True
    return bool(prob[1] > prob[0]), float(prob[1])


def _features(model: nn.Module, imgs: Sequence[ImageType], texts: Sequence[str]) -> Dict[str, torch.Tensor]:
    from .features import extract_features  # the one implementation (it builds on this module's pipeline helpers)
    return extract_features(model, images=imgs, texts=texts)


def rank_texts(model: nn.Module, img: ImageType, texts: Sequence[str]) -> List[Tuple[int, float]]:
    """Indices of ``texts`` from best to worst match for ``img``, with their cosine similarities."""
    f = _features(model, [img], texts)
    sims = (f['image'] @ f['text'].t())[0]
    order = sims.argsort(descending=True)
    return [(int(i), float(sims[i])) for i in order]


def rank_images(model: nn.Module, text: str, imgs: Sequence[ImageType]) -> List[Tuple[int, float]]:
    """Indices of ``imgs`` from best to worst match for ``text``, with their cosine similarities."""
    f = _features(model, imgs, [text])
    sims = (f['text'] @ f['image'].t())[0]
    order = sims.argsort(descending=True)
    return [(int(i), float(sims[i])) for i in order]


def vl_inference(model: nn.Module, imgs: Union[ImageType, Sequence[ImageType]],
                 text: Union[None, str, Sequence[str]]):
    """:func:`beitmm.apis.inference_model` for VL task models (see there)."""
    kind = type(model).__name__
    steps = _steps(model)
    if kind == 'DualEncoderRetriever':
        imgs = [imgs] if isinstance(imgs, (str, np.ndarray)) else list(imgs)
        texts = [text] if isinstance(text, str) else list(text or [])
        f = _features(model, imgs, texts)
        if not imgs or not texts:
            raise ValueError('retrieval inference needs images and candidate texts')
        sims = f['image'] @ f['text'].t()
        return dict(i2t=sims, t2i=sims.t())
    if kind == 'NLVR2Classifier':
        if not isinstance(text, str):
            raise ValueError('NLVR2 inference takes one statement (str) about the two images')
        return _run(model, [_load_pair(list(imgs), steps, dict(text=text))])[0]
    single = isinstance(imgs, (str, np.ndarray))
    imgs = [imgs] if single else list(imgs)
    if kind == 'VQAClassifier':
        questions = [text] * len(imgs) if isinstance(text, str) else list(text or [])
        if len(questions) != len(imgs):
            raise ValueError(f'VQA inference needs one question per image: {len(imgs)} images, {len(questions)} '
                             'questions')
        items = [_load(img, steps, dict(question=q)) for img, q in zip(imgs, questions, strict=True)]
        out = _run(model, items)
        answers = _answers(model)
        for s in out:
            s.set_field(answers[s.pred_label], 'pred_answer', field_type='metainfo')
    else:  # captioning
        out = _run(model, [_load(img, steps, dict(image_id=i)) for i, img in enumerate(imgs)])
    return out[0] if single else out
