"""Encrypted inference (THE-X protocol, TenSEAL CKKS; optional extra ``requirements/he.txt``, imported lazily)."""
from .bert import encrypted_bert_inference, plan_bert_layer
from .context import (
                      SECURITY_BUDGET,
                      CKKSParams,
                      HEDepthError,
                      HEKeyError,
                      check_context,
                      context_levels,
                      derive_params,
                      make_context,
                      require_tenseal,
)
from .packed import PackedBert
from .plan import ModelPlan, image_patches, plan_image_classifier
from .protocol import Client, Wire
from .runtime import EncryptedRun, encrypted_inference
from .server import CIRCUIT_DEPTH, Server
from .text import encrypted_text_inference, plan_text_classifier

__all__ = ['SECURITY_BUDGET', 'CKKSParams', 'HEDepthError', 'HEKeyError', 'check_context', 'context_levels',
           'derive_params', 'make_context', 'require_tenseal', 'ModelPlan', 'image_patches', 'plan_image_classifier',
           'Client', 'Wire', 'EncryptedRun', 'encrypted_inference', 'CIRCUIT_DEPTH', 'Server',
           'encrypted_text_inference', 'plan_text_classifier', 'encrypted_bert_inference', 'plan_bert_layer',
           'PackedBert']
