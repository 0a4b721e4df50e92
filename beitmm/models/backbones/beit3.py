"""BEiT-3 backbone: one Multiway Transformer for images, texts and image-text pairs.

Paper: "Image as a Foreign Language: BEiT Pretraining for All Vision and Vision-Language Tasks" (Wang et al.,
CVPR 2023). The released model (microsoft/unilm ``beit3/`` on torchscale) is the default layout: per-modality
projections and norms everywhere (``.A`` vision, ``.B`` language), sub-LN, shared attention over the
concatenation [image (cls + patches); text]. Parameter names are torchscale's ``BEiT3`` module names, so the
official files load by copy (the ``beit3.`` prefix of unilm's task models stripped). ``layout='paper'`` builds the
paper's architecture instead (shared attention, V / L experts, a VL expert in the top layers) from the same
Multiway parts as VLMo.
"""
import logging
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from beitmm.checkpoint import ConversionTarget, init_from_pretrained_cfg, module_state_shapes
from beitmm.pos_embed import resize_abs_pos_embed
from beitmm.registry import MODELS

from ..layers import (
    MagnetoMultiwayBlock,
    MoMEBlock,
    Multiway,
    Spans,
    check_spans,
    combine_masks,
    mask_patches,
    padding_to_attn_mask,
    patchify,
    rescale_blocks,
    trunc_normal_init_,
)
from .beit3_arch import ARCH_ZOO, LANGUAGE, LAYOUTS, OUT_TYPES, POS_OFFSET, VISION, resolve_arch
from .text_interface import TextBackbone


@MODELS.register_module()
class BEiT3(TextBackbone, BaseModule):
    """BEiT-3 Multiway Transformer (released layout by default).

    Args:
        arch: 'tiny' | 'base' | 'large' | 'giant' or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` (and optionally ``patch_size``).
        img_size: Image size the vision position table is learned for; other sizes are resized at run time.
        patch_size: Patch size (default 16; the arch may set it, giant: 14).
        in_channels: Image channels.
        vocab_size: Text embedding rows (official: 64010 for the 64002-piece ``beit3.spm``).
        max_text_positions: Text position table rows, fairseq offset of 2 included (torchscale default 1024:
            at most 1022 text tokens).
        modalities: ``('vision', 'language')``, or one of them to build that branch only (e.g. ImageNet /
            ADE20K fine-tuning: no language expert, no text embedding; the timm vision branch loads into it).
        layout: 'released' (torchscale, decoupled per-modality layer with sub-LN) or 'paper' (shared attention
            and norm1, V / L FFN experts, VL expert from ``vl_ffn_start``). None: the arch's (giant: 'paper'),
            else 'released'.
        vl_ffn_start: First layer with the VL expert ('paper' layout; default: the last 3 layers).
        out_type: 'raw' hidden states [B, N, C] (image tokens then text tokens) | 'cls_token' [B, C] (the first
            token) | 'featmap' [B, C, Hp, Wp] (image patches) | 'avg_featmap' [B, C] (mean image patch token,
            then ``fc_norm`` as unilm's ``BEiT3ForImageClassification``).
        out_indices: Layers whose output is returned (negative counts from the end).
        use_mask_token: Train ``vision_embed.mask_token`` (masked data modeling; needed for ``image_mask``). The
            key is always there (unilm's files have it), but frozen when False so DDP finds no unused weight.
        normalize_output: Apply the per-modality final ``encoder.layer_norm`` to the last layer's 'raw' /
            'cls_token' output (unilm: True for NLVR2, retrieval and captioning, whose builders keep
            ``_get_base_config``'s True; False for VQA and ImageNet, ``modeling_finetune.py:280-342``).
        drop_rate: Dropout after attention and in the FFN.
        attn_drop_rate: Attention dropout.
        drop_path_rate: Stochastic depth, linear over the layers.
        norm_eps: LayerNorm epsilon (torchscale: 1e-5).
        act_cfg: FFN activation config (exact GELU by default).
        text_overflow: 'truncate' (keep the first tokens, with a counted warning) or 'error' for texts longer
            than the text position table.
        with_cp: Activation checkpointing of every layer while training.
        with_cls_token: Put the cls token in the image sequence. False: patch tokens only, as ViTDet's detection
            backbone (vision only, 'featmap' / 'avg_featmap' outputs; the weight is kept, frozen).
        window_size: ViTDet's window attention in the layers of ``window_block_indexes`` (released layout, vision
            only, ``with_cls_token=False``); 0: none. See ``beitmm.BEiT``.
        window_block_indexes: Layers with window attention (negative counts from the end).
        rescale_init: After the init, divide layer l's attention-output and FFN-output projections (every expert)
            by sqrt(2 l): the BEiT initialization of BEiT-3's from-scratch pretraining (paper §2.3, footnote 4;
            unilm BEiT's ``fix_init_weight``). False (unilm's fine-tuning models, which never call it) by default.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads any supported BEiT-3 checkpoint (unilm task
            models with their ``model`` / ``module`` wrapper, torchscale state dicts, timm's vision branch).
    """

    checkpoint_converter = 'beit3'  # beitmm.checkpoint.families.beit3
    family, token_order, word_embeddings_path = 'beit3', 'image_first', 'text_embed'  # TextBackbone
    arch_zoo = ARCH_ZOO  # presets, read by beitmm.engine.config_fit

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: Optional[int] = None,
                 in_channels: int = 3,
                 vocab_size: int = 64010,
                 max_text_positions: int = 1024,
                 modalities: Sequence[str] = ('vision', 'language'),
                 layout: Optional[str] = None,
                 vl_ffn_start: Optional[int] = None,
                 out_type: str = 'raw',
                 out_indices: Union[int, Sequence[int]] = -1,
                 use_mask_token: bool = False,
                 normalize_output: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-5,
                 act_cfg: Optional[dict] = None,
                 text_overflow: str = 'truncate',
                 with_cp: bool = False,
                 with_cls_token: bool = True,
                 window_size: int = 0,
                 window_block_indexes: Sequence[int] = (),
                 rescale_init: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        arch = resolve_arch(arch)
        layout = layout or arch.get('layout', 'released')
        if layout not in LAYOUTS or out_type not in OUT_TYPES or text_overflow not in ('truncate', 'error'):
            raise ValueError(f'BEiT3: layout {layout!r} (one of {LAYOUTS}), out_type {out_type!r} (one of '
                             f"{OUT_TYPES}), text_overflow {text_overflow!r} ('truncate' or 'error')")
        unknown = set(modalities) - {'vision', 'language'}
        if unknown or not modalities:
            raise ValueError(f"BEiT3 modalities must be 'vision' and / or 'language', got {tuple(modalities)}")
        self.modalities = tuple(m for m in ('vision', 'language') if m in modalities)
        self.embed_dims = C = arch['embed_dims']
        self.num_layers = depth = arch['num_layers']
        self.num_heads = arch['num_heads']
        self.patch_size = patch_size or arch.get('patch_size', 16)
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.grid = (self.img_size[0] // self.patch_size, self.img_size[1] // self.patch_size)
        self.layout, self.out_type, self.normalize_output = layout, out_type, normalize_output
        self.use_mask_token = use_mask_token
        self.text_overflow, self.with_cp, self.vocab_size = text_overflow, with_cp, vocab_size
        self.rescale_init = rescale_init
        self.with_cls_token, self.window_size = with_cls_token, int(window_size)
        self.window_blocks = {i + depth if i < 0 else int(i) for i in window_block_indexes}
        if not with_cls_token and (self.modalities != ('vision', ) or out_type not in ('featmap', 'avg_featmap')):
            raise ValueError("with_cls_token=False needs modalities=('vision',) and out_type 'featmap' / "
                             f"'avg_featmap', got {self.modalities} / {out_type!r}")
        if self.window_blocks and (self.window_size <= 0 or with_cls_token or layout != 'released' or
                                   not all(0 <= i < depth for i in self.window_blocks)):
            raise ValueError(f'window_block_indexes {list(window_block_indexes)} need window_size > 0 (got '
                             f'{window_size}), with_cls_token=False, the released layout and indices below {depth}')
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        self.out_indices = sorted(i + depth if i < 0 else i for i in out_indices)
        if not all(0 <= i < depth for i in self.out_indices):
            raise ValueError(f'out_indices {out_indices} out of range for {depth} layers')
        experts = [VISION] * ('vision' in self.modalities) + [LANGUAGE] * ('language' in self.modalities)
        positions = {}
        if 'vision' in self.modalities:
            self.vision_embed = nn.Module()
            self.vision_embed.proj = nn.Conv2d(in_channels, C, self.patch_size, self.patch_size)
            self.vision_embed.cls_token = nn.Parameter(torch.zeros(1, 1, C))
            self.vision_embed.mask_token = nn.Parameter(torch.zeros(1, 1, C), requires_grad=use_mask_token)
            positions[VISION] = nn.Embedding(self.grid[0] * self.grid[1] + 1 + POS_OFFSET, C)
        if 'language' in self.modalities:
            self.text_embed = nn.Embedding(vocab_size, C)
            positions[LANGUAGE] = nn.Embedding(max_text_positions, C)
        self.encoder = nn.Module()
        self.encoder.embed_positions = Multiway(positions)
        dpr = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # linear 0 -> rate (meta-safe)
        if layout == 'released':
            layers = [MagnetoMultiwayBlock(C, self.num_heads, arch['feedforward_channels'], experts, norm_eps,
                                           drop_rate, attn_drop_rate, dpr[i], act_cfg,
                                           attn_window=self.window_size if i in self.window_blocks else 0)
                      for i in range(depth)]
        else:
            self.vl_ffn_start = depth - 3 if vl_ffn_start is None else vl_ffn_start
            layers = [MoMEBlock(C, self.num_heads, arch['feedforward_channels'], experts,
                                with_vl=i >= self.vl_ffn_start and len(experts) > 1, layer_scale_init_value=None,
                                eps=norm_eps, drop=drop_rate, attn_drop=attn_drop_rate, drop_path_rate=dpr[i],
                                act_cfg=act_cfg) for i in range(depth)]
        self.encoder.layers = nn.ModuleList(layers)
        # the final norm exists only where it is applied, as torchscale's Encoder (layer_norm = None without
        # normalize_output): official VQA / ImageNet files have no such keys, and a pretrained file's are unused
        uses_norm = normalize_output and out_type in ('raw', 'cls_token')
        self.encoder.layer_norm = Multiway({e: nn.LayerNorm(C, eps=norm_eps) for e in experts}) if uses_norm else None
        self.fc_norm = nn.LayerNorm(C, eps=norm_eps) if out_type == 'avg_featmap' else None
        self._truncated = 0
        if not with_cls_token:  # kept for whole-checkpoint loading, unused
            self.vision_embed.cls_token.requires_grad_(False)

    # ------------------------------------------------------------------ init / checkpoints
    def init_weights(self) -> None:
        """Unilm's ``BEiT3Wrapper`` init, or load a checkpoint of any supported BEiT-3 layout.

        Linears: normal truncated at +-1 std (0.02), zero biases; LayerNorms: 1 / 0; text embedding N(0, C^-0.5)
        (torchscale ``TextEmbedding``); positions N(0, 1); cls / mask tokens 0 (never re-initialised by unilm).
        With ``rescale_init`` (from-scratch pretraining) the residual output projections of layer l are then divided
        by sqrt(2 l), as BEiT's init; a loaded checkpoint is never rescaled.
        """
        if init_from_pretrained_cfg(self):
            return
        super().init_weights()
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init_(m.weight, .02, mode='pretrain')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if 'language' in self.modalities:
            nn.init.normal_(self.text_embed.weight, std=self.embed_dims**-0.5)
        if self.rescale_init:
            rescale_blocks(self.encoder.layers)  # layer l (1-based): attention / FFN output weights / sqrt(2 l)

    def checkpoint_target(self) -> ConversionTarget:
        """State shapes, patch grid and branches, for the ``beit3`` checkpoint converter."""
        return ConversionTarget(module_state_shapes(self), self.grid,
                                pooled_norm=self.out_type == 'avg_featmap',
                                extra=dict(modalities=self.modalities, layout=self.layout))

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id for layer-wise lr decay, as unilm ``beit3/optim_factory.py``.

        Names with ``embed`` (patch, text and position embeddings, cls / mask tokens) get 0, ``layers.k`` gets
        k + 1, everything else (final norms, heads) depth + 1.

        Args:
            param_name: Parameter name including ``prefix``.
            prefix: Prefix of the backbone's parameters (e.g. 'backbone.').

        Returns:
            (layer id, depth + 2).
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if 'embed' in name:
            return 0, num_layers
        if name.startswith('encoder.layers.'):
            return int(name.split('.')[2]) + 1, num_layers
        return num_layers - 1, num_layers

    # ------------------------------------------------------------------ embeddings
    def embed_image(self, image: Tensor, image_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tuple[int, int]]:
        """Patch tokens with the cls token and positions.

        Args:
            image: [B, 3, H, W]; H, W need not be multiples of the patch size (padded bottom / right).
            image_mask: Optional bool [B, Hp, Wp] or [B, Hp * Wp]; True patches become the mask token.

        Returns:
            Tokens [B, 1 + Hp * Wp, C] and the patch grid.
        """
        if 'vision' not in self.modalities:
            raise ValueError('this BEiT3 was built without the vision branch (modalities=("language",))')
        x, grid = patchify(image, self.vision_embed.proj, self.patch_size)  # [B, N, C]
        if image_mask is not None:
            if not self.use_mask_token:  # the setting, not requires_grad (a frozen backbone may still mask)
                raise ValueError('image_mask needs a trained mask token: build BEiT3 with use_mask_token=True')
            x = mask_patches(x, image_mask, self.vision_embed.mask_token, grid, 'image_mask')
        table = self.encoder.embed_positions.A.weight[None]  # [1, 2 + 1 + N0, C]
        if grid != self.grid:  # keep the 2 offset rows and the cls row
            table = resize_abs_pos_embed(table, self.grid, grid, num_extra_tokens=1 + POS_OFFSET)
        if not self.with_cls_token:  # ViTDet: patch tokens and their positions only
            return x + table[:, POS_OFFSET + 1:].to(x.dtype), grid
        x = torch.cat([self.vision_embed.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        return x + table[:, POS_OFFSET:].to(x.dtype), grid

    def embed_text(self, text: Tensor, positions: Optional[Tensor] = None) -> Tensor:
        """Token embeddings plus positions (table rows 2, 3, ...: fairseq), [B, L, C].

        Args:
            text: Token ids [B, L].
            positions: Text token indices [L] or [B, L] (0 = first token, table row 2) for incremental decoding;
                default ``0..L-1``.
        """
        if 'language' not in self.modalities:
            raise ValueError('this BEiT3 was built without the language branch (modalities=("vision",))')
        if text.numel() and (int(text.min()) < 0 or int(text.max()) >= self.vocab_size):
            bad = text[(text < 0) | (text >= self.vocab_size)].unique().tolist()[:5]
            raise ValueError(f'token ids {bad} are outside the text embedding of {self.vocab_size} rows: use the '
                             'tokenizer the model was trained with, or build it with a larger vocab_size')
        table = self.encoder.embed_positions.B.weight
        if positions is None:
            pos = table[POS_OFFSET:POS_OFFSET + text.shape[1]][None]
        else:
            if positions.shape[-1] != text.shape[1] or int(positions.min()) < 0 or \
                    int(positions.max()) + POS_OFFSET >= table.shape[0]:
                raise ValueError(f'text positions {positions.tolist()} must be {text.shape[1]} indices in '
                                 f'[0, {table.shape[0] - POS_OFFSET}) (the text position table)')
            pos = table[positions + POS_OFFSET]
            pos = pos[None] if pos.dim() == 2 else pos
        return self.text_embed(text) + pos.to(self.text_embed.weight.dtype)

    def _fit_text(self, text: Tensor, padding: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        limit = self.encoder.embed_positions.B.num_embeddings - POS_OFFSET
        if text.shape[1] == 0:
            raise ValueError('empty text (0 tokens): tokenize with the special tokens, e.g. [<s>, </s>]')
        if text.shape[1] <= limit:
            return text, padding
        if self.text_overflow == 'error':
            raise ValueError(f'texts of {text.shape[1]} tokens exceed the {limit} text positions; truncate them in '
                             "the pipeline or build the model with text_overflow='truncate'")
        self._truncated += text.shape[0]
        print_log(f'BEiT3: {text.shape[0]} text(s) of {text.shape[1]} tokens truncated to the {limit} text '
                  f'positions ({self._truncated} so far)', logger='current', level=logging.WARNING)
        return text[:, :limit], None if padding is None else padding[:, :limit]

    def encode_text(self, ids: Tensor, positions: Optional[Tensor] = None, segments: Optional[Tensor] = None,
                    attn_mask: Optional[Tensor] = None, padding: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """The text branch's 'raw' hidden states [B, N, C] (TextBackbone); BEiT-3 has no segments."""
        if self.out_type != 'raw':
            raise ValueError(f"encode_text reads 'raw' hidden states, this BEiT3 has out_type={self.out_type!r}")
        return self(text=ids, text_padding_mask=padding, text_positions=positions, attn_mask=attn_mask,
                    kv_cache=kv_cache)[-1]

    # ------------------------------------------------------------------ forward
    def forward(self, image: Optional[Tensor] = None, text: Optional[Tensor] = None,
                text_padding_mask: Optional[Tensor] = None, image_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None, text_positions: Optional[Tensor] = None,
                kv_cache=None) -> Tuple[Tensor, ...]:
        """Encode images, texts or image-text pairs.

        Args:
            image: Images [B, 3, H, W], or None.
            text: Token ids [B, L], or None.
            text_padding_mask: Bool [B, L], True at padding (torchscale's convention).
            image_mask: Bool [B, Hp, Wp] / [B, N]: patches replaced by the mask token (masked data modeling).
            attn_mask: Extra bool (True = may attend) or additive mask broadcastable to [B, heads, N, N] over
                the whole sequence (e.g. captioning's causal text mask); with ``kv_cache`` its keys are the cached
                tokens then these.
            text_positions: Text token indices [L] or [B, L] (see :meth:`embed_text`), e.g. ``[t - 1, t]`` in a
                decoding step.
            kv_cache: Incremental decoding (``beitmm.models.generation.KVCache``, released layout only): each
                layer attends over its cached keys / values plus these tokens' and keeps them. The padding of
                cached tokens belongs in ``attn_mask``.

        Returns:
            One output per ``out_indices`` entry shaped by ``out_type``; 'raw' outputs are [B, N, C] with the image
            tokens (cls + patches) first, then the text tokens.
        """
        if image is None and text is None:
            raise ValueError('BEiT3.forward needs an image, a text or both')
        tokens, spans, padding, grid = [], [], [], None
        if image is not None:
            x, grid = self.embed_image(image, image_mask)
            tokens.append(x)
            spans.append((VISION, x.shape[1]))
            padding.append(torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device))
        if text is not None:
            if text_positions is None:
                text, text_padding_mask = self._fit_text(text, text_padding_mask)
            t = self.embed_text(text, text_positions)
            tokens.append(t)
            spans.append((LANGUAGE, t.shape[1]))
            padding.append(torch.zeros(t.shape[:2], dtype=torch.bool, device=t.device)
                           if text_padding_mask is None else text_padding_mask.to(torch.bool))
        x = torch.cat(tokens, dim=1) if len(tokens) > 1 else tokens[0]  # [B, N, C]
        pad = torch.cat(padding, dim=1)  # [B, N]
        mask = attn_mask
        if kv_cache is not None and kv_cache.length and bool(pad.any()):
            raise ValueError('with a filled kv_cache the padding of every key goes into attn_mask, not '
                             'text_padding_mask (which covers the new tokens only)')
        if bool(pad.any()):
            x = x * (~pad).unsqueeze(-1).to(x.dtype)  # torchscale zeroes padded embeddings
            mask = combine_masks(attn_mask, padding_to_attn_mask(pad))
        return self.forward_layers(x, spans, mask, grid, kv_cache)

    def forward_layers(self, x: Tensor, spans: Spans, attn_mask: Optional[Tensor],
                       grid: Optional[Tuple[int, int]], kv_cache=None) -> Tuple[Tensor, ...]:
        """Run the layers on embedded tokens and format the requested outputs.

        Args:
            x: Tokens [B, N, C].
            spans: ``(expert, length)`` spans tiling N (``'A'`` vision, ``'B'`` language).
            attn_mask: Attention mask (see :meth:`forward`).
            grid: Patch grid of the image tokens (None without an image).
            kv_cache: Per-layer key / value cache (see :meth:`forward`), or None.

        Returns:
            The outputs (see :meth:`forward`).
        """
        check_spans(spans, x.shape[1])
        spans = tuple(spans)
        if kv_cache is not None and (self.layout != 'released' or len(kv_cache) != self.num_layers):
            raise ValueError(f'kv_cache: incremental decoding needs the released layout and one cache entry per '
                             f'layer ({self.num_layers}), got layout {self.layout!r} and {len(kv_cache)} entries')
        outs = []
        for i, layer in enumerate(self.encoder.layers[:self.out_indices[-1] + 1]):
            win = dict(grid=grid) if i in self.window_blocks else {}
            if kv_cache is not None:
                x = layer(x, spans, attn_mask, kv_cache[i])
            elif self.with_cp and self.training and x.requires_grad:
                x = checkpoint(layer, x, spans, attn_mask, use_reentrant=False, **win)
            else:
                x = layer(x, spans, attn_mask, **win)
            if i in self.out_indices:
                outs.extend([self._format(x, spans, grid, i == self.num_layers - 1)] * self.out_indices.count(i))
        return tuple(outs)

    def _format(self, x: Tensor, spans: Spans, grid: Optional[Tuple[int, int]], is_last: bool) -> Tensor:
        if self.out_type in ('featmap', 'avg_featmap'):
            if spans[0][0] != VISION or grid is None:
                raise ValueError(f"out_type={self.out_type!r} needs an image input")
            patches = x[:, int(self.with_cls_token):spans[0][1]]  # [B, Hp * Wp, C]
            if self.out_type == 'avg_featmap':
                return self.fc_norm(patches.mean(dim=1))
            return patches.transpose(1, 2).reshape(x.shape[0], -1, *grid)  # [B, C, Hp, Wp]
        if is_last and self.encoder.layer_norm is not None:
            x = self.encoder.layer_norm(x, spans)
        return x[:, 0] if self.out_type == 'cls_token' else x

    def extra_repr(self) -> str:
        """Widths, depth, branches, layout and outputs."""
        return (f'embed_dims={self.embed_dims}, depth={self.num_layers}, heads={self.num_heads}, '
                f'modalities={self.modalities}, layout={self.layout!r}, grid={self.grid}, '
                f'out_type={self.out_type!r}, out_indices={self.out_indices}')
