"""High-level API, as in mmseg / mmpretrain: build a model from a config and run it on images (and texts)."""
from .features import extract_features
from .inference import inference_model, init_model
from .inferencers import (
    FeatureExtractor,
    ImageCaptionInferencer,
    ImageToTextRetrievalInferencer,
    NLVRInferencer,
    TextToImageRetrievalInferencer,
    VisualQuestionAnsweringInferencer,
)
from .model_zoo import get_model, list_models
from .vl_inference import answer_question, caption_image, judge_statement, rank_images, rank_texts

__all__ = ['init_model', 'inference_model', 'answer_question', 'caption_image', 'judge_statement', 'rank_images',
           'rank_texts', 'VisualQuestionAnsweringInferencer', 'ImageCaptionInferencer', 'NLVRInferencer',
           'TextToImageRetrievalInferencer', 'ImageToTextRetrievalInferencer', 'extract_features', 'FeatureExtractor',
           'build_zero_shot_classifier', 'list_models', 'get_model']


def __getattr__(name: str):
    """``beitmm.apis.build_zero_shot_classifier`` (from ``beitmm.models``, imported on first use)."""
    if name == 'build_zero_shot_classifier':
        from beitmm.models.classifiers import build_zero_shot_classifier
        return build_zero_shot_classifier
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
