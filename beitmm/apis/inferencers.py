"""mmpretrain-style inferencers for the VL task models: build once, call on a list of inputs, get dicts back.

The result dicts have mmpretrain 1.2's keys (``VisualQuestionAnsweringInferencer``: ``question`` / ``pred_answer``;
``ImageCaptionInferencer``: ``pred_caption``; ``NLVRInferencer``: ``pred_scores`` / ``pred_label`` /
``pred_score``; the retrieval inferencers: per query a best-first list of ``match_score`` / ``sample_idx`` /
``sample``), so code written against mmpretrain's works with beitmm's models. mmpretrain's own classes build their
models from its model zoo and tokenizers; these take a beitmm config and checkpoint. ``FeatureExtractor`` is called as
mmpretrain's (``inferencer(inputs, batch_size=1)``, one feature per input, in order), with the L2-normalised
embeddings of :func:`beitmm.apis.extract_features`.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .features import embed_inputs
from .inference import init_model
from .vl_inference import ImageType, answer_question, caption_image, judge_statement, rank_images, rank_texts


class _VLInferencer:
    """Holds a model built by :func:`beitmm.apis.init_model`.

    Args:
        config: Config path of a VL task model.
        checkpoint: Its checkpoint (None: the config's initialisation).
        device: Torch device.
        cfg_options: Config overrides.
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None) -> None:
        self.model = init_model(config, checkpoint, device, cfg_options)


class VisualQuestionAnsweringInferencer(_VLInferencer):
    """Answers questions about images: ``inferencer([{'image': path, 'question': str}, ...])``."""

    def __call__(self, inputs: Sequence[Dict[str, Union[ImageType, str]]]) -> List[dict]:
        """One ``{'question', 'pred_answer', 'pred_score'}`` per input."""
        out = []
        for item in inputs:
            (answer, score), = answer_question(self.model, item['image'], item['question'])
            out.append(dict(question=item['question'], pred_answer=answer, pred_score=score))
        return out


class ImageCaptionInferencer(_VLInferencer):
    """Captions images: ``inferencer([path_or_array, ...])``."""

    def __call__(self, images: Sequence[ImageType]) -> List[dict]:
        """One ``{'pred_caption'}`` per image."""
        return [dict(pred_caption=caption_image(self.model, img)) for img in images]


class NLVRInferencer(_VLInferencer):
    """Judges statements about image pairs: ``inferencer([{'images': [left, right], 'text': str}, ...])``."""

    def __call__(self, inputs: Sequence[dict]) -> List[dict]:
        """One ``{'pred_scores' [False, True], 'pred_label' (1 = true), 'pred_score'}`` per input."""
        out = []
        for item in inputs:
            _, p_true = judge_statement(self.model, item['images'], item['text'])
            scores = np.array([1 - p_true, p_true], dtype=np.float32)
            out.append(dict(pred_scores=scores, pred_label=int(scores.argmax()), pred_score=float(scores.max())))
        return out


class _RetrievalInferencer(_VLInferencer):
    """Ranks a fixed prototype set (``prototype``: image paths / arrays, or texts) for each query."""

    def __init__(self, config: str, prototype: Sequence, checkpoint: Optional[str] = None, device: str = 'cpu',
                 cfg_options: Optional[dict] = None) -> None:
        super().__init__(config, checkpoint, device, cfg_options)
        self.prototype = list(prototype)

    def _matches(self, ranked, topk: int) -> List[dict]:
        return [dict(match_score=score, sample_idx=i, sample=self.prototype[i]) for i, score in ranked[:topk]]


class TextToImageRetrievalInferencer(_RetrievalInferencer):
    """Images of ``prototype`` ranked for each text query."""

    def __call__(self, texts: Sequence[str], topk: int = 5) -> List[List[dict]]:
        """Per text: the ``topk`` best images (``match_score``, ``sample_idx``, ``sample``)."""
        return [self._matches(rank_images(self.model, t, self.prototype), topk) for t in texts]


class ImageToTextRetrievalInferencer(_RetrievalInferencer):
    """Texts of ``prototype`` ranked for each image query."""

    def __call__(self, images: Sequence[ImageType], topk: int = 5) -> List[List[dict]]:
        """Per image: the ``topk`` best texts (``match_score``, ``sample_idx``, ``sample``)."""
        return [self._matches(rank_texts(self.model, img, self.prototype), topk) for img in images]


class FeatureExtractor(_VLInferencer):
    """Embeds inputs with a retrieval, VQA or image classification model (mmpretrain's ``FeatureExtractor`` call).

    Inputs: an image (path or HxWx3 BGR array) -> its image embedding; ``{'text': str}`` -> the text embedding;
    ``{'image': img, 'text': str}`` -> the fused pair embedding (VQA models). See :func:`beitmm.apis.extract_features`.
    """

    def __call__(self, inputs: Union[ImageType, dict, Sequence[Union[ImageType, dict]]], batch_size: int = 1,
                 return_numpy: bool = False) -> List:
        """One L2-normalised embedding [D] per input (a tensor, or a NumPy array with ``return_numpy``)."""
        items = [inputs] if isinstance(inputs, (str, np.ndarray, dict)) else list(inputs)
        return embed_inputs(self.model, items, batch_size, return_numpy)
