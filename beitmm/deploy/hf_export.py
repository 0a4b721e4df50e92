"""Write a beitmm BEiT classifier / UperNet segmentor as a transformers 4.57 folder, and compare the two.

The folder holds ``config.json`` (a ``BeitConfig``, ``id2label`` from the dataset's classes where known),
``model.safetensors`` (transformers 4 key names, which transformers 5 also reads) and ``preprocessor_config.json``
(a ``BeitImageProcessor`` with the config's normalisation, resizing to the backbone's ``img_size``: a choice).
The weights come from beitmm's own HF importer run backwards (:func:`beitmm.checkpoint.invert.invert_conversion`):
there is no second key table, and the written tensors are checked to read back, through that importer, into
exactly the model's weights. Which models qualify: :mod:`.hf_config`.
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from beitmm.checkpoint import atomic_write_bytes, atomic_write_text, converter_for, used_keys
from beitmm.checkpoint.invert import invert_conversion

from .hf_config import NotExportableError, hf_config_kwargs, id2label


def import_transformers():
    """The ``transformers`` module, or an ImportError saying how to install it."""
    try:
        import transformers
    except ImportError as err:
        raise ImportError('writing or checking a transformers folder needs transformers 4.57 '
                          '(pip install -r requirements/tests.txt, or make setup)') from err
    return transformers


def _importer(model: nn.Module):
    """The beitmm checkpoint importer for ``model`` (HF layout in, the model's state dict out)."""
    backbone = model.backbone
    converter, target = converter_for(backbone), backbone.checkpoint_target()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    return lambda state: converter.convert_model(state, shapes, 'backbone.', target)[0]


def _identity_layer(key: str, shape: torch.Size, dtype: torch.dtype) -> Tensor:
    """A weight of the appended identity layer: lambda_1 = lambda_2 = 0 make it return its input exactly."""
    ones = key.endswith(('layernorm_before.weight', 'layernorm_after.weight'))  # a plain LayerNorm (unused anyway)
    return (torch.ones if ones else torch.zeros)(shape, dtype=dtype)


def hf_state_dict(model: nn.Module, cls_name: str, config, identity_layer: bool = False) -> Dict[str, Tensor]:
    """The transformers state dict (transformers 4 names) equal to ``model``'s weights.

    Args:
        model: The beitmm model (see :func:`beitmm.deploy.hf_config.hf_config_kwargs`).
        cls_name: ``BeitForImageClassification`` or ``BeitForSemanticSegmentation``.
        config: Its ``transformers.BeitConfig``.
        identity_layer: The config has one layer more than the backbone, to be filled as an identity.

    Returns:
        ``{key: tensor}`` covering the HF model's whole state dict.

    Raises:
        NotExportableError: An HF weight has no beitmm source, or a beitmm weight no HF place.
    """
    transformers = import_transformers()
    with torch.device('meta'):  # shapes only: no memory, no initialisation
        hf_shapes = {k: v.shape for k, v in getattr(transformers, cls_name)(config).state_dict().items()}
    convert, needed = _importer(model), used_keys(model)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items() if k in needed}
    hf, unfilled = invert_conversion(convert, hf_shapes, state)
    extra = f'beit.encoder.layer.{model.backbone.num_layers}.'
    stray = [k for k in unfilled if not (identity_layer and k.startswith(extra))]
    if stray:
        raise NotExportableError(f'{cls_name} weights with no beitmm source: {", ".join(stray[:6])}')
    dtype = model.backbone.cls_token.dtype
    hf.update({k: _identity_layer(k, hf_shapes[k], dtype) for k in unfilled})
    back = convert(hf)  # the importer reads the result back: every weight the model uses, unchanged
    lost = sorted(k for k in needed if k not in back)
    if lost:
        raise NotExportableError(f'{cls_name} has no place for the beitmm weights {", ".join(lost[:6])}')
    changed = [k for k in needed if not torch.equal(back[k], state[k])]
    if changed:
        raise RuntimeError(f'the written weights read back differently: {changed[:6]}')
    return {k: hf[k].contiguous() for k in hf_shapes}


def _preprocessor(model: nn.Module, transformers, size: List[int], reduce_labels: bool) -> str:
    dp = model.data_preprocessor
    mean = [float(v) / 255 for v in dp.mean.flatten()] if getattr(dp, 'mean', None) is not None else [0.5] * 3
    std = [float(v) / 255 for v in dp.std.flatten()] if getattr(dp, 'std', None) is not None else [0.5] * 3
    proc = transformers.BeitImageProcessor(
        do_resize=True, size=dict(height=size[0], width=size[1]), do_center_crop=False, do_rescale=True,
        do_normalize=True, image_mean=mean, image_std=std, do_reduce_labels=reduce_labels)
    return proc.to_json_string()


def _reduce_zero_label(cfg) -> bool:
    """Whether the config's test pipeline loads labels with ``reduce_zero_label`` (ADE20K: True)."""
    if cfg is None:
        return False
    pipeline = ((cfg.get('test_dataloader') or {}).get('dataset') or {}).get('pipeline') or []
    return any(step.get('reduce_zero_label', False) for step in pipeline if 'LoadAnnotations' in step['type'])


def dataset_classes(model: nn.Module) -> Optional[List[str]]:
    """Class names of the model's dataset: the checkpoint's ``dataset_meta``, the config's test set, or None.

    Args:
        model: A model from :func:`beitmm.apis.init_model` (``dataset_meta`` / ``cfg`` attributes).

    Returns:
        The names, or None when neither says (e.g. a config without a dataset).
    """
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes'):
        return list(meta['classes'])
    cfg = getattr(model, 'cfg', None)
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {} if cfg is not None else {}
    if (dataset.get('metainfo') or {}).get('classes'):
        return list(dataset['metainfo']['classes'])
    try:  # the dataset class's own METAINFO (mmpretrain ImageNet, mmseg ADE20KDataset, ...)
        from mmengine.registry import DATASETS, DefaultScope
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            return list(DATASETS.get(dataset['type']).METAINFO['classes'])
    except (KeyError, AttributeError, TypeError):
        return None


def write_hf_folder(model: nn.Module, out_dir: str, classes: Optional[List[str]] = None) -> Dict:
    """Write ``config.json``, ``model.safetensors`` and ``preprocessor_config.json`` into ``out_dir``.

    Each file is written atomically (temporary file, then rename).

    Args:
        model: A beitmm classifier or segmentor in eval mode, SyncBN reverted to BatchNorm.
        out_dir: Output folder (created; files already there with these names are replaced).
        classes: Class names for ``id2label`` (used when their number equals the model's classes).

    Returns:
        ``class`` (the transformers class), ``config`` (the BeitConfig), ``identity_layer``, ``files`` and
        ``bgr_model`` (the config feeds BGR images, which HF's RGB image processor does not).
    """
    transformers = import_transformers()
    cls_name, kw, identity = hf_config_kwargs(model)
    labels = id2label(classes, kw['num_labels'])
    config = transformers.BeitConfig(**kw, id2label=labels, label2id={v: k for k, v in labels.items()})
    config.architectures = [cls_name]
    state = hf_state_dict(model, cls_name, config, identity)
    from safetensors.torch import save as safetensors_bytes
    os.makedirs(out_dir, exist_ok=True)
    files = [osp.join(out_dir, n) for n in ('model.safetensors', 'config.json', 'preprocessor_config.json')]
    atomic_write_bytes(safetensors_bytes(state, metadata={'format': 'pt'}), files[0])
    atomic_write_text(config.to_json_string(), files[1])
    size = list(model.backbone.img_size)
    seg = cls_name == 'BeitForSemanticSegmentation'
    atomic_write_text(_preprocessor(model, transformers, size, seg and _reduce_zero_label(getattr(model, 'cfg', None))),
                      files[2])
    dp = model.data_preprocessor
    rgb = bool(getattr(dp, 'to_rgb', getattr(dp, 'channel_conversion', True)))  # HF image processors give RGB
    return {'class': cls_name, 'config': config, 'identity_layer': identity, 'files': files, 'bgr_model': not rgb}


@torch.no_grad()
def compare_with_transformers(model: nn.Module, out_dir: str, batch: int = 2, seed: int = 0) -> Dict[str, float]:
    """Load ``out_dir`` with transformers and compare its logits with ``model``'s on a random normalised image.

    Classifiers compare class logits; segmentors the decode head's logits at 1/4 of the image size (HF's
    ``logits``; beitmm's ``decode_head`` output before resizing).

    Args:
        model: The beitmm model that was written.
        out_dir: The folder.
        batch: Images in the batch.
        seed: Seed of the random input.

    Returns:
        ``max_abs_diff`` and ``max_abs_ref`` (the beitmm logits' largest magnitude).
    """
    transformers = import_transformers()
    config = transformers.BeitConfig.from_pretrained(out_dir)
    hf = getattr(transformers, config.architectures[0]).from_pretrained(out_dir).eval()
    H, W = model.backbone.img_size
    x = torch.randn(batch, config.num_channels, H, W, generator=torch.Generator().manual_seed(seed))
    if type(model).__name__ == 'EncoderDecoder':
        ref = model.decode_head(model.extract_feat(x))  # [B, K, H / 4, W / 4]
    else:
        ref = model(x, mode='tensor')  # [B, K]
    got = hf(pixel_values=x).logits
    if got.shape != ref.shape:
        raise AssertionError(f'transformers logits {tuple(got.shape)} vs beitmm {tuple(ref.shape)}')
    return {'max_abs_diff': float((got - ref).abs().max()), 'max_abs_ref': float(ref.abs().max())}
