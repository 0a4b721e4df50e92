"""Models of the BEiT family, one folder per component kind (as mmpretrain).

Shared kinds: ``layers`` (transformer, Multiway blocks), ``backbones`` (BEiT, BertEncoder, BEiT-3, VLMo, VL-BEiT),
``heads``, ``losses``, ``necks``, ``tokenizers`` (visual), ``teachers``, ``targets``, ``data_preprocessors``,
``decode_heads`` (segmentation), ``generation`` (decoding of a bidirectional encoder), ``utils``. Objectives:
``algorithms`` (MIM, CIM, masked data modeling, VLMo stages, text MLM, ELECTRA, THE-X distillation). Task models:
``classifiers``, ``multimodal`` (VQA, NLVR2, retrieval, captioning), ``seq2seq`` (s2s-ft). Paper-only parts:
``the_x`` (HE-friendly approximations and the module surgery). Folders import each other only through their
packages (``tests/test_models/test_layout.py``).
"""
from . import (
               algorithms,
               backbones,
               classifiers,
               data_preprocessors,
               decode_heads,
               generation,
               heads,
               layers,
               losses,
               multimodal,
               necks,
               seq2seq,
               targets,
               teachers,
               the_x,
               tokenizers,
               utils,
)
from .algorithms import (
                         CIM,
                         ELECTRA,
                         MaskedDataModeling,
                         MaskedImageModeling,
                         ReplacementSampler,
                         TextMaskedLM,
                         THEXDistiller,
                         VLMoPretraining,
)
from .backbones import BEiT, BEiT3, BertEncoder, VLBEiT, VLMo
from .classifiers import LinearProbeClassifier, TextClassifier, ZeroShotClassifier, build_zero_shot_classifier
from .data_preprocessors import MultiStreamDataPreprocessor, TwoViewDataPreprocessor
from .decode_heads import FastUPerHead, LowMemoryFCNHead
from .heads import CIMResPixHead, CIMRevDetHead, HardnessHead, MIMHead, MLMHead, RTDHead
from .losses import FeatureRegressionLoss, FocalMLMLoss, TokenClassificationLoss
from .multimodal import BEiT3Captioner, DualEncoderRetriever, NLVR2Classifier, VLBaseModel, VQAClassifier
from .necks import BEiTV2Neck, LinearProbeNeck
from .seq2seq import Seq2SeqFinetuner
from .targets import FeatureTarget, PixelTarget
from .teachers import CLIPViT, DINOViT
from .the_x import THEXAffineNorm, THEXPolyGELU, THEXSoftmax, convert_model
from .tokenizers import VQKD, DALLETokenizer, KMeansTokenizer

__all__ = [
    # folders
    'algorithms', 'backbones', 'classifiers', 'data_preprocessors', 'decode_heads', 'generation', 'heads', 'layers',
    'losses', 'multimodal', 'necks', 'seq2seq', 'targets', 'teachers', 'the_x', 'tokenizers', 'utils',
    # backbones
    'BEiT', 'BEiT3', 'BertEncoder', 'VLMo', 'VLBEiT',
    # objectives
    'MaskedImageModeling', 'CIM', 'MaskedDataModeling', 'VLMoPretraining', 'TextMaskedLM', 'ELECTRA',
    'THEXDistiller', 'ReplacementSampler',
    # task models
    'LinearProbeClassifier', 'TextClassifier', 'ZeroShotClassifier', 'build_zero_shot_classifier', 'VLBaseModel',
    'VQAClassifier', 'NLVR2Classifier', 'DualEncoderRetriever', 'BEiT3Captioner', 'Seq2SeqFinetuner',
    # heads, losses, necks, decode heads
    'MIMHead', 'CIMResPixHead', 'CIMRevDetHead', 'MLMHead', 'RTDHead', 'HardnessHead', 'TokenClassificationLoss',
    'FeatureRegressionLoss', 'FocalMLMLoss', 'BEiTV2Neck', 'LinearProbeNeck', 'FastUPerHead', 'LowMemoryFCNHead',
    # tokenizers, teachers, targets, data preprocessors
    'VQKD', 'DALLETokenizer', 'KMeansTokenizer', 'CLIPViT', 'DINOViT', 'FeatureTarget', 'PixelTarget',
    'TwoViewDataPreprocessor', 'MultiStreamDataPreprocessor',
    # THE-X
    'THEXAffineNorm', 'THEXPolyGELU', 'THEXSoftmax', 'convert_model'
]
