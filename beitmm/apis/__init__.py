"""High-level API, as in mmseg / mmpretrain: build a model from a config and run it on images (and texts)."""
from .inference import inference_model, init_model
from .inferencers import (
    ImageCaptionInferencer,
    ImageToTextRetrievalInferencer,
    NLVRInferencer,
    TextToImageRetrievalInferencer,
    VisualQuestionAnsweringInferencer,
)
from .vl_inference import answer_question, caption_image, judge_statement, rank_images, rank_texts

__all__ = ['init_model', 'inference_model', 'answer_question', 'caption_image', 'judge_statement', 'rank_images',
           'rank_texts', 'VisualQuestionAnsweringInferencer', 'ImageCaptionInferencer', 'NLVRInferencer',
           'TextToImageRetrievalInferencer', 'ImageToTextRetrievalInferencer']
