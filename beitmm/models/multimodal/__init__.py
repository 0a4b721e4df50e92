"""Vision-language task models on the Multiway backbones: VQA, NLVR2, retrieval, captioning."""
from .base import VLBaseModel
from .captioner import BEiT3Captioner
from .nlvr2 import NLVR2Classifier
from .retrieval import DualEncoderRetriever
from .vqa import VQAClassifier

__all__ = ['VLBaseModel', 'BEiT3Captioner', 'VQAClassifier', 'NLVR2Classifier', 'DualEncoderRetriever']
