"""What a masked-image-modeling model predicts, in pixels: dVAE decoding of predicted tokens.

BEiT predicts DALL-E token ids at masked patches. Decoding the tokenizer's own ids shows the
ceiling (what the dVAE can reconstruct); decoding the ids with the model's predictions in the
masked patches shows what the model learned. Also small numpy helpers that draw masks.
"""
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor


def _token_grid(ids: Tensor, grid: tuple) -> Tensor:
    if ids.is_floating_point():
        raise ValueError('the target generator gives features, not token ids: dVAE reconstruction needs a '
                         'token target generator (e.g. beitmm.DALLETokenizer)')
    if ids[0].numel() != grid[0] * grid[1]:
        raise ValueError(f'the target generator gives {ids[0].numel()} tokens per image but the student has a '
                         f'{grid} patch grid: check the tokenizer view size')
    return ids.reshape(ids.shape[0], *grid).long()  # [B, Hp, Wp]


@torch.no_grad()
def mim_reconstruction(model: nn.Module, img_student: Tensor, img_tokenizer: Tensor, mask: Tensor,
                       decoder_tokenizer: Optional[nn.Module] = None) -> Dict[str, Tensor]:
    """Token ids of the tokenizer and of the model, and their dVAE reconstructions.

    Args:
        model: ``beitmm.MaskedImageModeling`` with a token target generator, in eval mode.
        img_student: Normalised student view [B, 3, H, W].
        img_tokenizer: Tokenizer view [B, 3, h, w] in [0, 1] (as the data preprocessor gives it).
        mask: Bool mask [B, Hp, Wp] (True = masked).
        decoder_tokenizer: Tokenizer with a decoder (``DALLETokenizer(with_decoder=True)``) used
            for :meth:`decode`; None returns ids only.

    Returns:
        ``original_ids`` [B, Hp, Wp]: the tokenizer's ids (the training targets);
        ``predicted_ids`` [B, Hp, Wp]: argmax of the head at every position (only the masked
        ones are trained);
        ``mixed_ids`` [B, Hp, Wp]: ``original_ids`` with ``predicted_ids`` at masked positions;
        ``accuracy`` [B]: fraction of masked positions where the prediction equals the target;
        with a decoder also ``recon_original`` and ``recon_predicted`` [B, 3, 8Hp', 8Wp'] in
        [0, 1], the decodings of ``original_ids`` and ``mixed_ids``.
    """
    if getattr(model, 'target_generator', None) is None:
        raise ValueError('the model has no target generator: there are no tokens to reconstruct')
    p = model.backbone.patch_size
    grid = (img_student.shape[-2] // p, img_student.shape[-1] // p)
    mask = mask.to(img_student.device).bool()
    if mask[0].numel() != grid[0] * grid[1]:
        raise ValueError(f'mask of shape {tuple(mask.shape[1:])} does not match the {grid} patch grid')
    mask = mask.reshape(-1, *grid)  # [B, Hp, Wp]
    original = _token_grid(model.targets(img_tokenizer), grid)  # [B, Hp, Wp]

    tokens = model.backbone(img_student, mask)[-1]
    if tokens.dim() != 3:
        raise ValueError('the backbone must return raw tokens [B, N+1, C]: build it with out_type="raw"')
    tokens = tokens[:, 1:]  # [B, N, C]
    everywhere = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
    logits = model.head(tokens, everywhere)  # [B*N, V], batch-major
    predicted = logits.argmax(-1).reshape(-1, *grid)  # [B, Hp, Wp]
    mixed = torch.where(mask, predicted, original)
    hits = ((predicted == original) & mask).flatten(1).sum(1).float()
    out = dict(original_ids=original, predicted_ids=predicted, mixed_ids=mixed,
               accuracy=hits / mask.flatten(1).sum(1).clamp(min=1).float())
    if decoder_tokenizer is not None:
        vocab = getattr(decoder_tokenizer, 'vocab_size', None)
        if vocab is not None and logits.shape[-1] > vocab:
            raise ValueError(f'the head predicts {logits.shape[-1]} classes but the decoder has a vocabulary of '
                             f'{vocab}: use the decoder of the tokenizer the model was trained with')
        # k-means tokenizers have buffers only
        dev = next(iter([*decoder_tokenizer.parameters(), *decoder_tokenizer.buffers()])).device
        out['recon_original'] = decoder_tokenizer.decode(original.to(dev))  # [B, 3, 8Hp, 8Wp]
        out['recon_predicted'] = decoder_tokenizer.decode(mixed.to(dev))
    return out


def upsample_grid(values: np.ndarray, size: tuple) -> np.ndarray:
    """Nearest upsampling of a patch grid to pixels.

    Args:
        values: Array [Hp, Wp, ...] (one value per patch).
        size: Output (H, W), multiples of (Hp, Wp).

    Returns:
        Array [H, W, ...], each patch value repeated over its pixels.
    """
    hp, wp = values.shape[:2]
    if size[0] % hp or size[1] % wp:
        raise ValueError(f'image size {size} is not a multiple of the {hp}x{wp} patch grid')
    return values.repeat(size[0] // hp, axis=0).repeat(size[1] // wp, axis=1)


def mask_overlay(img: np.ndarray, mask: np.ndarray, alpha: float = 0.7, grey: int = 128) -> np.ndarray:
    """Grey out masked patches of an image.

    Args:
        img: RGB image [H, W, 3] uint8.
        mask: Bool patch mask [Hp, Wp] (True = masked).
        alpha: Weight of the grey in masked patches: 1 hides them (the student's view),
            less leaves the content visible under the tint.
        grey: Grey level.

    Returns:
        RGB image [H, W, 3] uint8.
    """
    weight = alpha * upsample_grid(mask.astype(np.float32), img.shape[:2])[..., None]  # [H, W, 1]
    out = img.astype(np.float32) * (1 - weight) + grey * weight
    return out.round().clip(0, 255).astype(np.uint8)


def to_image(t: Tensor) -> np.ndarray:
    """[3, H, W] float tensor in [0, 1] -> [H, W, 3] uint8 RGB array."""
    return (t.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()


# type-name suffixes kept by :func:`mim_view_pipeline` (any loader variant, e.g. RobustLoadImageFromFile)
VIEW_STEPS = ('LoadImageFromFile', 'TwoViewRandomResizedCrop', 'MaskGenerator', 'PackMIMInputs')


def mim_view_pipeline(cfg, full_crop: bool = False):
    """A pretraining config's train pipeline reduced to loading, the two-view crop, the mask and packing.

    Photometric augmentation and flipping are left out: figures show the image as it is.

    Args:
        cfg: Pretraining config (``train_dataloader.dataset.pipeline`` or ``train_pipeline``).
        full_crop: Crop the whole image (area scale 1) instead of a random part.

    Returns:
        mmengine ``Compose`` mapping ``dict(img_path=...)`` to packed ``inputs`` and ``data_samples``.
    """
    from mmengine.dataset import Compose
    pipeline = cfg.get('train_dataloader', {}).get('dataset', {}).get('pipeline') or cfg.get('train_pipeline')
    if not pipeline:
        raise KeyError('the config has no train pipeline (train_dataloader.dataset.pipeline or train_pipeline)')
    steps = [dict(s) for s in pipeline if s['type'].split('.')[-1].endswith(VIEW_STEPS)]
    kinds = [s['type'].split('.')[-1] for s in steps]
    if 'TwoViewRandomResizedCrop' not in kinds or not any(k.endswith('MaskGenerator') for k in kinds):
        raise ValueError(f'the train pipeline needs TwoViewRandomResizedCrop and a mask generator, found {kinds}')
    if full_crop:
        steps[kinds.index('TwoViewRandomResizedCrop')]['scale'] = (1.0, 1.0)
    return Compose(steps)
