"""Deployment: beitmm models as ONNX graphs (:mod:`.onnx_export`) and as HuggingFace ``transformers`` folders.

:mod:`.hf_config` decides whether a beitmm model has an exact ``transformers`` BEiT counterpart and builds its
config; :mod:`.hf_export` writes the folder. The command-line tools are ``tools/deployment/export_onnx.py`` and
``tools/model_converters/beitmm_to_hf.py``. Nothing here is imported by ``import beitmm``: onnx, onnxruntime and
transformers stay optional.
"""
