"""CIM: Corrupted Image Modeling (Fang, Dong, Bao, Wang, Wei, ICLR 2023, arXiv:2202.03382).

Two networks trained together in one step:

1. The generator, a small trainable BEiT with a mask token, sees the blockwise-masked image and
   predicts DALL-E tokens at the masked patches (BEiT's loss).
2. Tokens sampled from its output distribution (temperature, no gradient) replace the frozen
   tokenizer's ids at the masked positions only; the DALL-E decoder turns the ids into a
   corrupted image, resized to the enhancer's input size. The sampler is text ELECTRA's
   ``beitmm.ReplacementSampler``: plain, or hardness-aware (a ``beitmm.HardnessHead`` on the
   generator predicts the enhancer's per-token loss of each candidate token; the importance
   weights go onto the enhancer's loss at the masked tokens). The generator's loss may be
   ``beitmm.FocalMLMLoss`` (``generator_head.loss``; gamma 0 is BEiT's cross-entropy).
3. The enhancer (any backbone: ``beitmm.BEiT`` without mask token, ``mmpretrain.ResNet``) sees
   only the corrupted image and either recovers all original pixels (ResPix) or tells for
   every token whether it was replaced (RevDet).

Nothing flows back from the enhancer to the generator (sampling and the frozen decoder cut the
graph), so each network learns from its own loss only. The enhancer sits at ``backbone.``:
its checkpoint initialises classification / segmentation models like any beitmm pretraining
checkpoint, and the ``generator.*`` / ``generator_head.*`` keys are dropped at load.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from beitmm.registry import MODELS

from ..heads import to_featmap
from ..losses import masked_mean
from .mim import MaskedImageModeling


def replace_masked(ids: Tensor, mask: Tensor, sampled: Tensor) -> Tuple[Tensor, Tensor]:
    """Put sampled tokens at the masked positions.

    Args:
        ids: Original token ids [B, N].
        mask: Bool [B, N], True where masked.
        sampled: Sampled ids [M] for the M masked positions, batch-major order (``ids[mask]``).

    Returns:
        (corrupted ids [B, N], replaced [B, N] bool). A sample equal to the original token
        counts as not replaced (ELECTRA's convention).
    """
    if sampled.numel() != int(mask.sum()):
        raise ValueError(f'{sampled.numel()} sampled tokens for {int(mask.sum())} masked positions')
    corrupted = ids.clone()
    corrupted[mask] = sampled.to(ids.dtype)
    return corrupted, corrupted != ids


@MODELS.register_module()
class CIM(BaseModel):
    """Corrupted image modeling with a BEiT generator and a ViT or CNN enhancer.

    Args:
        generator: Generator config (``beitmm.BEiT``, ``use_mask_token=True``, ``out_type='raw'``).
        generator_head: Its token head (``beitmm.MIMHead`` to the tokenizer's vocabulary).
        tokenizer: Frozen DALL-E dVAE with decoder (``beitmm.DALLETokenizer(with_decoder=True)``).
        backbone: The enhancer, e.g. ``beitmm.BEiT`` (no mask token) or ``mmpretrain.ResNet``.
        head: Enhancer head: ``beitmm.CIMResPixHead`` or ``beitmm.CIMRevDetHead``.
        temperature: Sampling temperature of the generator's distribution (0: argmax); the sampler's default.
        sampler: ``beitmm.ReplacementSampler`` config (keys override ``temperature``); None: plain sampling.
        hardness_head: ``beitmm.HardnessHead`` config (``in_channels`` / ``vocab_size`` filled in), built when the
            sampler is hardness-aware. Its target is the enhancer's per-token loss: BCE (RevDet) or the mean pixel
            loss of the token's pixels (ResPix), at the masked tokens. Hardness-aware sampling in CIM is beitmm's
            extension (neither the CIM nor the ELECTRA-HP paper pairs them); the ResPix target especially, since
            ELECTRA-HP's hardness is a discriminator's loss and ResPix has no discriminator.
        enhancer_mean: Per-channel mean on the [0, 1] scale of the enhancer's input normalisation.
        enhancer_std: Per-channel std, same scale.
        enhancer_size: Enhancer input (H, W); None: the size of the generator's view.
        save_generator: Keep the generator in checkpoints (needed by ``--resume``).
        save_tokenizer: Keep the frozen dVAE in checkpoints too (for runs whose dVAE is not a file,
            e.g. the demo's random one); off by default: the DALL-E files are loaded from disk.
        data_preprocessor: Defaults to ``beitmm.TwoViewDataPreprocessor``.
        init_cfg: mmengine init config.
    """

    def __init__(self, generator: dict, generator_head: dict, tokenizer: dict, backbone: dict, head: dict,
                 temperature: float = 1.0, sampler: Optional[dict] = None, hardness_head: Optional[dict] = None,
                 enhancer_mean: Sequence[float] = (0.5, 0.5, 0.5),
                 enhancer_std: Sequence[float] = (0.5, 0.5, 0.5), enhancer_size: Optional[Sequence[int]] = None,
                 save_generator: bool = True, save_tokenizer: bool = False, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = data_preprocessor or dict(type='beitmm.TwoViewDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if temperature < 0:
            raise ValueError(f'sampling temperature must be >= 0, got {temperature}')
        self.generator = MODELS.build(generator)
        if getattr(self.generator, 'mask_token', None) is None:
            raise ValueError('the CIM generator needs a mask token: set use_mask_token=True in its config')
        self.generator_head = MODELS.build(generator_head)
        self.tokenizer = MODELS.build(tokenizer)
        if getattr(self.tokenizer, 'decoder', None) is None:
            raise ValueError('CIM decodes sampled tokens into the corrupted image: build the tokenizer with '
                             'with_decoder=True (and decoder_checkpoint)')
        vocab = getattr(getattr(self.generator_head, 'fc', None), 'out_features', None)
        if vocab is not None and vocab != self.tokenizer.vocab_size:
            raise ValueError(f'the generator head predicts {vocab} classes but the tokenizer has a vocabulary of '
                             f'{self.tokenizer.vocab_size}: set generator_head.out_channels to it')
        self.tokenizer.requires_grad_(False)
        self.tokenizer.eval()
        self.backbone = MODELS.build(backbone)
        if getattr(self.backbone, 'mask_token', None) is not None:
            raise ValueError('the CIM enhancer never sees mask tokens: build it with use_mask_token=False')
        self.head = MODELS.build(head)
        if getattr(self.head, 'cim_target', None) not in ('pixels', 'replaced'):
            raise TypeError(f'{type(self.head).__name__} is not a CIM enhancer head '
                            '(use beitmm.CIMResPixHead or beitmm.CIMRevDetHead)')
        self.temperature = temperature
        self.sampler = MODELS.build(dict(dict(type='beitmm.ReplacementSampler', temperature=temperature),
                                         **(sampler or {})))
        self.hardness_head = None
        if getattr(self.sampler, 'needs_hardness', False):
            cfg = dict(type='beitmm.HardnessHead', **(hardness_head or {}))
            cfg.update(in_channels=self.generator.embed_dims, vocab_size=self.tokenizer.vocab_size)
            self.hardness_head = MODELS.build(cfg)
        self.enhancer_size = None if enhancer_size is None else (int(enhancer_size[0]), int(enhancer_size[-1]))
        self.register_buffer('enhancer_mean', torch.tensor(enhancer_mean, dtype=torch.float32).view(1, 3, 1, 1), False)
        self.register_buffer('enhancer_std', torch.tensor(enhancer_std, dtype=torch.float32).view(1, 3, 1, 1), False)
        self.save_generator, self.save_tokenizer = save_generator, save_tokenizer
        self._register_state_dict_hook(self._drop_frozen)

    @staticmethod
    def _drop_frozen(module, state_dict, prefix, local_metadata):
        drop = (() if module.save_tokenizer else ('tokenizer.', )) + (
            () if module.save_generator else ('generator.', 'generator_head.', 'hardness_head.'))
        for k in [k for k in state_dict if drop and k[len(prefix):].startswith(drop)]:
            del state_dict[k]
        return state_dict

    def train(self, mode: bool = True) -> 'CIM':
        """Train mode; the frozen tokenizer stays in eval mode."""
        super().train(mode)
        self.tokenizer.eval()
        return self

    # ----------------------------------------------------------------- pieces
    def to_unit(self, img: Tensor) -> Tensor:
        """Undo the data preprocessor's normalisation of the generator view: pixels in [0, 1]."""
        pre = self.data_preprocessor
        if not hasattr(pre, 'mean') or not hasattr(pre, 'std'):
            raise AttributeError('CIM needs the data preprocessor mean / std (beitmm.TwoViewDataPreprocessor)')
        return ((img * pre.std + pre.mean) / 255.).clamp(0, 1)

    def enhancer_input(self, unit_img: Tensor) -> Tensor:
        """Normalise [0, 1] images [B, 3, H, W] for the enhancer."""
        return (unit_img - self.enhancer_mean) / self.enhancer_std

    def enhance(self, unit_img: Tensor) -> Tensor:
        """Enhancer features of [0, 1] images as a feature map [B, C, h, w]."""
        feat = self.backbone(self.enhancer_input(unit_img))[-1]
        if feat.dim() == 3:  # ViT tokens [B, N+1, C]
            p = self.backbone.patch_size
            feat = to_featmap(feat, (unit_img.shape[-2] // p, unit_img.shape[-1] // p))
        return feat

    def corrupt(self, img: Tensor, tokenizer_view: Tensor, mask: Tensor) -> Dict[str, Tensor]:
        """Generator forward, sampling and decoding: everything the enhancer needs.

        Args:
            img: Normalised generator view [B, 3, H, W].
            tokenizer_view: Tokenizer view [B, 3, h, w] in [0, 1] (8h = token grid * 8).
            mask: Bool [B, N], True where masked.

        Returns:
            ``ids`` / ``corrupted_ids`` / ``replaced`` [B, N]; ``logits`` [M, V] (with gradient
            to the generator); ``corrupted`` [B, 3, He, We] (the decoded corrupted image at the
            enhancer size, [0, 1]); ``original`` [B, 3, He, We] ([0, 1]); ``grid`` (Hp, Wp); ``sampled`` [M];
            ``hardness`` [M, V] or None; ``token_weights`` [B, N] (importance weights, 1 off the mask) or None.
        """
        p = self.generator.patch_size
        grid = (img.shape[-2] // p, img.shape[-1] // p)
        with torch.no_grad():
            ids = self.tokenizer(tokenizer_view).flatten(1)  # [B, N]
        if ids.shape[1] != mask.shape[1]:
            raise ValueError(f'the tokenizer gives {ids.shape[1]} tokens per image but the generator has '
                             f'{mask.shape[1]} patches: the tokenizer view must be (H / {p}) * 8 pixels high')
        tokens = self.generator(img, mask)[-1][:, 1:]  # [B, N, Cg]
        logits = self.generator_head(tokens, mask)  # [M, V]
        hardness = self.hardness_head(tokens[mask]) if self.hardness_head is not None else None  # [M, V]
        sampled, weights = self.sampler(logits, hardness)  # [M], [M] | None
        corrupted_ids, replaced = replace_masked(ids, mask, sampled)
        size = self.enhancer_size or tuple(img.shape[-2:])
        with torch.no_grad():
            decoded = self.tokenizer.decode(corrupted_ids.reshape(-1, *grid))  # [B, 3, 8Hp, 8Wp]
            if tuple(decoded.shape[-2:]) != size:
                decoded = F.interpolate(decoded, size=size, mode='bicubic', align_corners=False).clamp(0, 1)
            original = self.to_unit(img.detach())
            if tuple(original.shape[-2:]) != size:
                original = F.interpolate(original, size=size, mode='bicubic', align_corners=False).clamp(0, 1)
        token_weights = None
        if weights is not None:
            token_weights = torch.ones(ids.shape, device=ids.device)
            token_weights[mask] = weights
        return dict(ids=ids, logits=logits, corrupted_ids=corrupted_ids, replaced=replaced, corrupted=decoded,
                    original=original, grid=grid, sampled=sampled, hardness=hardness, token_weights=token_weights)

    # ---------------------------------------------------------------- mmengine
    def forward(self, inputs: Union[Tensor, List[Tensor]], data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """The mmengine entry point.

        Args:
            inputs: The views (see :meth:`loss`), or the first view alone for 'tensor'.
            data_samples: Samples carrying ``mask`` ('loss' mode).
            mode: 'loss' -> dict of losses; 'tensor' -> enhancer features of the (uncorrupted) first view, a tuple
                as the enhancer returns it.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            img = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            return self.backbone(self.enhancer_input(self.to_unit(img)))
        raise ValueError(f'CIM has no {mode!r} mode (use "loss" or "tensor")')

    def loss(self, inputs: List[Tensor], data_samples: list) -> Dict[str, Tensor]:
        """Generator and enhancer losses of one batch.

        Args:
            inputs: [generator view [B, 3, H, W], tokenizer view [B, 3, h, w]].
            data_samples: Samples carrying ``mask`` [Hp, Wp] (bool).

        Returns:
            ``loss_gen`` and ``gen_acc`` (generator, %), ``loss_respix`` or ``loss_revdet`` and
            ``revdet_acc`` (enhancer), ``disc_replaced`` / ``disc_kept`` (the enhancer's per-token
            loss on replaced / kept tokens), ``loss_hardness`` / ``hardness_err`` (hardness-aware
            sampling), ``replaced_ratio`` (share of masked tokens that the sample changed) and
            ``resample_correct`` (1 - that: the sample drew the original token back).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('CIM needs two views per sample (generator view and tokenizer view): use '
                             'TwoViewRandomResizedCrop and PackMIMInputs in the pipeline')
        img, tokenizer_view = inputs
        p = self.generator.patch_size
        mask = MaskedImageModeling.collect_mask(data_samples, (img.shape[-2] // p, img.shape[-1] // p), img.device)
        parts = self.corrupt(img, tokenizer_view, mask)
        gen = self.generator_head.loss_module(parts['logits'], parts['ids'][mask])
        losses = {'loss_gen': gen['loss'] if 'loss' in gen else next(v for k, v in gen.items() if 'loss' in k)}
        if 'mim_acc' in gen:
            losses['gen_acc'] = gen['mim_acc']
        feat = self.enhance(parts['corrupted'])
        grid, replaced = parts['grid'], parts['replaced']
        weights = None if parts['token_weights'] is None else parts['token_weights'].reshape(-1, *grid)
        if self.head.cim_target == 'pixels':
            enhancer, per_token = self.head.loss_and_map(feat, parts['original'], grid, weights)
            per_token = per_token.flatten(1)  # [B, N]
            enhancer.update(disc_replaced=masked_mean(per_token, replaced),
                            disc_kept=masked_mean(per_token, ~replaced))
        else:
            enhancer, per_token = self.head.loss_and_map(feat, replaced.reshape(-1, *grid), weights)
            per_token = per_token.flatten(1)
        losses.update(enhancer)
        if self.hardness_head is not None:
            losses.update(self.hardness_head.loss(parts['hardness'], parts['sampled'], per_token[mask]))
        losses['replaced_ratio'] = replaced.sum().float() / mask.sum().clamp_min(1)
        losses['resample_correct'] = masked_mean(~replaced, mask)
        return losses
