"""Export the inference tensor path of beitmm models to ONNX, and compare onnxruntime (CPU) with PyTorch.

Parts (:func:`export_parts`), every image input already normalised as the config's data preprocessor does
(``(pixel - mean) / std``, RGB when it converts BGR to RGB; the values are in each file's metadata):

- mmpretrain ``ImageClassifier``: ``image`` [B, 3, H, W] -> ``logits`` [B, classes];
- mmseg ``EncoderDecoder``: ``image`` [B, 3, H, W] -> ``seg_logits`` [B, classes, H, W] (the decode head's logits
  resized to the input, mmseg's whole-image inference; sliding windows and resizing back to the original image
  are left to the caller);
- ``beitmm.DualEncoderRetriever`` (BEiT-3, VLMo): ``image`` -> ``image_embeds`` [B, C] and ``input_ids`` [B, L]
  int64 + ``padding_mask`` [B, L] bool (True at padding; the model's tokenizer makes both) -> ``text_embeds`` [B, C],
  the L2-normalised embeddings whose dot products the model ranks by: two files.

Exporter: ``'auto'`` tries torch's dynamo (``torch.export``) exporter, the default of ``torch.onnx.export`` in torch
2.14, and falls back to the TorchScript tracer when it fails, saying why. Measured with torch 2.14.1:

- beitmm's attention runs ``F.scaled_dot_product_attention``; the dynamo exporter's decomposition fails on the
  output strides of the fused CPU kernel ("Cannot view a tensor with shape [1, 5, 2, 16] ..."), so the math kernel
  is forced while exporting (:func:`torch.nn.attention.sdpa_kernel`), which makes it succeed;
- the text paths of BEiT-3 and VLMo check the token ids' range (``int(text.min())``) and BEiT-3 branches on
  ``bool(padding.any())`` (images too: their padding is all False): data-dependent Python control flow, which
  ``torch.export`` refuses, so the TorchScript tracer exports them. It records the branch of the example input
  (texts: padded), which gives the same result for unpadded texts (an all-False padding masks nothing);
- mmseg's pyramid pooling (``adaptive_avg_pool2d`` to 3 x 3 and 6 x 6 cells) only exports with the TorchScript tracer
  when those sizes divide the feature map (not for 640 px UperNet: 20 x 20): segmentors need the dynamo exporter.

So with torch 2.14.1 'auto' gives: classifiers, segmentors and VLMo's image encoder by dynamo, BEiT-3's encoders
and VLMo's text encoder by TorchScript. The TorchScript tracer is faster (tiny classifier: 1.6 s vs 3.8 s);
UperNet's dynamo export takes tens of seconds whatever the width (``beitmm.FastUPerHead``'s fusion unrolls into
about 1200 ONNX nodes, which keep its low FLOP count at run time). ``exporter='torchscript'`` skips the dynamo
attempt where the tracer works.
"""
import contextlib
import io
import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from beitmm.checkpoint.io.atomic import temp_path

EXPORTERS = ('auto', 'dynamo', 'torchscript')
SUPPORTED = ('mmpretrain ImageClassifier (class logits)', 'mmseg EncoderDecoder (per-pixel logits)',
             'beitmm.DualEncoderRetriever (BEiT-3 / VLMo image and text embeddings)')
TEXTS = ('a red circle above a blue square', 'two green stars', 'the yellow triangle is left of the purple shape',
         'one orange square', 'there are three blue circles and one red star next to them', 'a small shape')


class UnsupportedModelError(TypeError):
    """The model type has no exported tensor path here."""


class ClassifierLogits(nn.Module):
    """``image`` [B, 3, H, W] (normalised) -> class logits [B, K] of an mmpretrain ImageClassifier."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> Tensor:
        """Logits before softmax."""
        return self.model(image, mode='tensor')


class SegmentorLogits(nn.Module):
    """``image`` [B, 3, H, W] (normalised) -> per-pixel logits [B, K, H, W] of an mmseg EncoderDecoder."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> Tensor:
        """The decode head's logits resized to the input (mmseg ``encode_decode``)."""
        size = tuple(int(s) for s in image.shape[2:])
        return self.model.encode_decode(image, [dict(img_shape=size, pad_shape=size, ori_shape=size)])


class RetrievalImage(nn.Module):
    """``image`` [B, 3, H, W] (normalised) -> L2-normalised image embeddings [B, C]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> Tensor:
        """``DualEncoderRetriever.image_features``."""
        return self.model.image_features(image)


class RetrievalText(nn.Module):
    """``input_ids`` [B, L] int64, ``padding_mask`` [B, L] bool -> L2-normalised text embeddings [B, C]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, padding_mask: Tensor) -> Tensor:
        """``DualEncoderRetriever.text_features``."""
        return self.model.text_features(input_ids, padding_mask)


@dataclass
class ExportPart:
    """One ONNX file: the module, how to make its inputs, the names of its inputs and output.

    Attributes:
        name: 'classifier', 'segmentor', 'image' or 'text'.
        module: Tensors in, one tensor out.
        make_inputs: ``(batch, seed) -> inputs`` (random normalised images, or tokenized example texts).
        input_names: Names of the inputs (the module's ``forward`` arguments).
        output_name: Name of the output.
        metadata: Written into the file's ``metadata_props``.
    """

    name: str
    module: nn.Module
    make_inputs: Callable[[int, int], Tuple[Tensor, ...]]
    input_names: List[str]
    output_name: str
    metadata: Dict[str, str] = field(default_factory=dict)


def model_kind(model: nn.Module) -> str:
    """'classifier', 'segmentor' or 'retrieval'; raises :class:`UnsupportedModelError` naming the type."""
    name = type(model).__name__
    kinds = {'ImageClassifier': 'classifier', 'EncoderDecoder': 'segmentor', 'DualEncoderRetriever': 'retrieval'}
    if name not in kinds:
        raise UnsupportedModelError(f'model type {name} cannot be exported to ONNX; supported: {", ".join(SUPPORTED)}')
    return kinds[name]


def _input_note(model: nn.Module) -> str:
    dp = model.data_preprocessor
    mean, std = (getattr(dp, k, None) for k in ('mean', 'std'))
    rgb = bool(getattr(dp, 'to_rgb', getattr(dp, 'channel_conversion', False)))
    if mean is None:
        return 'image as the model takes it (no normalisation in the data preprocessor)'
    mean, std = ([round(float(v), 4) for v in t.flatten()] for t in (mean, std))
    return f'{"RGB" if rgb else "BGR"} image, (pixel - mean) / std with mean={mean}, std={std} (pixels 0-255)'


def export_parts(model: nn.Module, shape: Sequence[int], part: str = 'both',
                 text_len: Optional[int] = None) -> List[ExportPart]:
    """The ONNX files a model exports to.

    Args:
        model: From :func:`beitmm.apis.init_model` (eval mode; SyncBN reverted to BatchNorm).
        shape: Image (H, W).
        part: Retrieval: 'image', 'text' or 'both'; other models: 'image' or 'both' (their one graph).
        text_len: Tokens per text (retrieval; default the model's ``max_text_len``).

    Returns:
        One :class:`ExportPart` per file.

    Raises:
        UnsupportedModelError: The model type, or a part it does not have.
    """
    kind, (H, W) = model_kind(model), (int(shape[0]), int(shape[-1]))
    channels = getattr(getattr(model.backbone, 'patch_embed', None), 'proj', None)
    channels = channels.in_channels if isinstance(channels, nn.Conv2d) else 3

    def images(batch: int, seed: int) -> Tuple[Tensor]:
        return (torch.randn(batch, channels, H, W, generator=torch.Generator().manual_seed(seed)), )

    note = dict(beitmm_input=_input_note(model), beitmm_model=type(model).__name__)
    if kind != 'retrieval':
        if part not in ('image', 'both'):
            raise UnsupportedModelError(f'{type(model).__name__} has one graph (image in); part {part!r} is for '
                                        'retrieval models')
        wrap, out = (ClassifierLogits, 'logits') if kind == 'classifier' else (SegmentorLogits, 'seg_logits')
        return [ExportPart(kind, wrap(model).eval(), images, ['image'], out, note)]
    length = text_len or model.max_text_len

    def texts(batch: int, seed: int) -> Tuple[Tensor, Tensor]:
        chosen = [TEXTS[(seed + i) % len(TEXTS)] for i in range(batch)]
        return model.tokenize(chosen, length)  # ids [B, L] int64, padding [B, L] bool (the short texts are padded)

    text_note = dict(note, beitmm_input=f"{length} token ids of the model's tokenizer and their padding mask "
                     '(True at padding)')
    parts = {'image': ExportPart('image', RetrievalImage(model).eval(), images, ['image'], 'image_embeds', note),
             'text': ExportPart('text', RetrievalText(model).eval(), texts, ['input_ids', 'padding_mask'],
                                'text_embeds', text_note)}
    if part not in ('image', 'text', 'both'):
        raise ValueError(f"part must be 'image', 'text' or 'both', got {part!r}")
    return [parts[p] for p in (('image', 'text') if part == 'both' else (part, ))]


def _first_cause(err: Exception) -> str:
    """One line saying why torch.onnx's dynamo exporter failed (its messages end in a summary section)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    marker = next((i for i, line in enumerate(lines) if line.startswith('## Exception summary')), None)
    line = lines[marker + 1] if marker is not None and marker + 1 < len(lines) else (lines[0] if lines else '')
    return f'{type(err).__name__}: {line[:240]}'


def _export_dynamo(part: ExportPart, inputs: Tuple[Tensor, ...], path: str, opset: int, dynamic: bool) -> None:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    batch = torch.export.Dim('batch', min=1, max=4096)
    shapes = {n: {0: batch} for n in part.input_names} if dynamic else None
    quiet = logging.getLogger('torch.fx.experimental.symbolic_shapes')  # dumps whole graphs on data-dependent code
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with sdpa_kernel(SDPBackend.MATH):  # see the module docstring: the fused kernel's strides break the export
            program = torch.onnx.export(part.module, inputs, dynamo=True, opset_version=opset, verbose=False,
                                        input_names=part.input_names, output_names=[part.output_name],
                                        dynamic_shapes=shapes)
    finally:
        quiet.setLevel(level)
    program.save(path)


def _export_torchscript(part: ExportPart, inputs: Tuple[Tensor, ...], path: str, opset: int, dynamic: bool) -> None:
    axes = {n: {0: 'batch'} for n in [*part.input_names, part.output_name]} if dynamic else None
    with warnings.catch_warnings():  # tracer notes on Python-level shape arithmetic; the check below tells
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(part.module, inputs, path, dynamo=False, opset_version=opset, do_constant_folding=True,
                          input_names=part.input_names, output_names=[part.output_name], dynamic_axes=axes)


def export_part(part: ExportPart, path: str, opset: int = 18, dynamic_batch: bool = False, exporter: str = 'auto',
                log: Callable[[str], None] = print) -> str:
    """Export one part to ``path`` atomically (temporary file, checked by onnx, then renamed).

    Weights are stored inside the file: models above protobuf's 2 GB limit are not supported.

    Args:
        part: From :func:`export_parts`.
        path: Output ``.onnx`` file.
        opset: ONNX opset (default 18, the dynamo exporter's native opset: a choice).
        dynamic_batch: Leave the batch dimension free (traced with batch 2).
        exporter: 'auto' (dynamo, else TorchScript), 'dynamo' or 'torchscript'.
        log: Receives a line when 'auto' falls back.

    Returns:
        The exporter that wrote the file: 'dynamo' or 'torchscript'.
    """
    import onnx
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    inputs = part.make_inputs(2 if dynamic_batch else 1, 0)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = temp_path(os.path.abspath(path))
    used = exporter
    try:
        with torch.no_grad():
            if exporter in ('auto', 'dynamo'):
                try:
                    # 'auto': torch.fx prints whole failing graphs to stderr; the one-line reason is logged instead
                    with contextlib.redirect_stderr(io.StringIO()) if exporter == 'auto' else contextlib.nullcontext():
                        _export_dynamo(part, inputs, tmp, opset, dynamic_batch)
                    used = 'dynamo'
                except Exception as err:  # any exporter failure: fall back, or re-raise when dynamo was asked for
                    if exporter == 'dynamo':
                        raise
                    log(f'[{part.name}] dynamo exporter failed ({_first_cause(err)}); using the TorchScript exporter')
                    used = 'torchscript'
            if used == 'torchscript':
                _export_torchscript(part, inputs, tmp, opset, dynamic_batch)
        proto = onnx.load(tmp)
        onnx.helper.set_model_props(proto, dict(part.metadata, beitmm_part=part.name, beitmm_exporter=used))
        onnx.checker.check_model(proto)
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return used


@torch.no_grad()
def check_part(part: ExportPart, path: str, batch: int = 1, seed: int = 1) -> float:
    """Max abs difference between onnxruntime (CPU) and PyTorch on fresh inputs (another seed than the export's).

    Args:
        part: The exported part.
        path: Its ONNX file.
        batch: Batch of the check input.
        seed: Seed of the check input.

    Returns:
        ``max |onnxruntime - PyTorch|`` over the output.
    """
    import onnxruntime as ort
    inputs = part.make_inputs(batch, seed)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    feed = {n: t.cpu().numpy() for n, t in zip(part.input_names, inputs, strict=True)}
    got = torch.from_numpy(session.run([part.output_name], feed)[0])
    want = part.module(*inputs).float()
    if got.shape != want.shape:
        raise AssertionError(f'onnxruntime output {tuple(got.shape)} vs PyTorch {tuple(want.shape)}')
    return float((got - want).abs().max())
