"""VLMo (and VL-BEiT) backbone: a Multiway Transformer of mixture-of-modality-experts blocks.

Paper: "VLMo: Unified Vision-Language Pre-Training with Mixture-of-Modality-Experts" (Wang et al., NeurIPS 2022);
microsoft/unilm ``vlmo/``'s module and parameter names are kept, so its files load by copy. Tokens are in VLMo's
order, text then image (cls + patches), routed to experts by explicit ``spans`` (VLMo pads texts to 40 tokens and
splits there). One table [rows, heads * layers] serves every layer, gathered once per forward: image rows (BEiT's
(2Hp-1)(2Wp-1) + 3 cls rows), 2 cross rows (text -> image, image -> text), ``2 * rel_pos_text_len`` text rows.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from beitmm.checkpoint import ConversionTarget, init_from_pretrained_cfg, module_state_shapes
from beitmm.pos_embed import CROSS_ROWS, rel_pos_table_len, relative_position_index, resize_vlmo_table, vlmo_table_rows
from beitmm.registry import MODELS

from ..layers import (
    MoMEBlock,
    Spans,
    combine_masks,
    init_blocks,
    mask_patches,
    padding_to_attn_mask,
    patchify,
    trunc_normal_init_,
)
from .text_interface import TextBackbone
from .vit_outputs import check_out_type, format_tokens, resolve_out_indices

ARCH_ZOO = {
    # tiny is beitmm's (VLMo has none): ViT-Ti widths, VL expert in the top 2 layers as base; for tests and demos
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768, vlffn_start=10),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072, vlffn_start=10),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096, vlffn_start=21),
}
TEXT, IMAGE, VL = 'text', 'imag', 'vl'  # MoMEBlock expert suffixes (VLMo's names)
Grid = Tuple[int, int]


def text_relative_position_index(length: int, first_row: int, rel_text_len: int) -> Tensor:
    """VLMo's text index [L, L]: rows of the 1-d distance key - query, then cls->token, token->cls, cls->cls."""
    pos = torch.arange(length)
    index = first_row + rel_text_len - 2 + (pos[None, :] - pos[:, None])
    last = first_row + 2 * rel_text_len  # the text part has 2 * rel_text_len rows from first_row
    index[0, :], index[:, 0] = last - 3, last - 2
    index[0, 0] = last - 1
    return index


def vlmo_relative_position_index(text_len: int, grid: Optional[Grid], table_grid: Grid, rel_text_len: int) -> Tensor:
    """Index [N, N] into the merged table (resized to ``grid`` when there is an image) for [text; image]."""
    image_rows = rel_pos_table_len(grid or table_grid)
    text = text_relative_position_index(text_len, image_rows + CROSS_ROWS, rel_text_len) if text_len else None
    image = None if grid is None else relative_position_index(grid)
    if image is None or text is None:
        return image if text is None else text
    n = image.shape[0]
    top = torch.cat([text, torch.full((text_len, n), image_rows)], dim=1)  # text -> image row
    bottom = torch.cat([torch.full((n, text_len), image_rows + 1), image], dim=1)  # image -> text row
    return torch.cat([top, bottom], dim=0)


@MODELS.register_module()
class VLMo(TextBackbone, BaseModule):
    """VLMo's Multiway Transformer with BERT text embeddings and the merged relative position table.

    Args:
        arch: 'tiny' (beitmm's) | 'base' | 'large', or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` (optionally ``vlffn_start``).
        img_size: Image size the table is built for; other sizes resize its image rows at run time.
        patch_size: Patch size.
        in_channels: Image channels.
        vocab_size: Text vocabulary (BERT uncased: 30522).
        max_text_len: Rows of BERT's unused absolute text positions (VLMo: 40; 196 in text-only pretraining).
        rel_pos_text_len: VLMo's ``max_text_len_of_initckpt`` (196): texts may have this many tokens.
        num_token_types: Rows of ``token_type_embeddings`` (0 text, 1 image; NLVR2: 3).
        vlffn_start: First layer with the VL expert (base 10, large 21; default: the arch's, else depth - 2).
        use_mask_token: Learn ``transformer.mask_token`` for masked image modeling (not in VLMo).
        layer_scale_init_value: Layer scale init (VLMo: 0.1); 0 / None disables it.
        drop_rate: Dropout after the image embedding, the attention and in the FFNs.
        attn_drop_rate: Attention dropout.
        drop_path_rate: Stochastic depth, linear over the layers.
        text_drop_rate: Dropout of the text embeddings (None: ``drop_path_rate``, as VLMo's BertConfig does).
        norm_eps: LayerNorm epsilon of the transformer (1e-6).
        text_norm_eps: LayerNorm epsilon of the text embeddings (BertConfig: 1e-12).
        act_cfg: FFN activation config (exact GELU).
        with_cp: Activation checkpointing of every block while training.
        out_indices: Image-only input: blocks whose output is returned (negative counts from the end), as
            :class:`~beitmm.models.backbones.BEiT`'s. Inputs with text always give the last block's.
        out_type: Image-only input: 'raw' [B, 1 + Hp * Wp, C] | 'cls_token' [B, C] | 'featmap' [B, C, Hp, Wp] |
            'avg_featmap' [B, C], with BEiT's final-norm rule (``transformer.norm`` on the last block for 'raw' and
            'cls_token', after the mean for 'avg_featmap', none for 'featmap'). VL tasks need 'raw'.
        image_only: Vision transfer (classification, segmentation, linear probe): texts are refused and the parts
            an image never reaches (text embeddings, language and VL experts; the final norm for 'featmap') are
            frozen, keeping their keys so VLMo / VL-BEiT checkpoints load whole, but out of the optimizer and of
            DDP's unused-parameter check.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads any checkpoint the 'vlmo' converter takes.
    """

    checkpoint_converter = 'vlmo'  # beitmm.checkpoint.families.vlmo
    family, token_order = 'vlmo', 'text_first'  # TextBackbone (text_interface.py)
    word_embeddings_path = 'text_embeddings.word_embeddings'
    arch_zoo = ARCH_ZOO  # presets, read by beitmm.engine.config_fit

    def __init__(self, arch: Union[str, dict] = 'base', img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16, in_channels: int = 3, vocab_size: int = 30522, max_text_len: int = 40,
                 rel_pos_text_len: int = 196, num_token_types: int = 2, vlffn_start: Optional[int] = None,
                 use_mask_token: bool = False, layer_scale_init_value: Optional[float] = 0.1, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0., text_drop_rate: Optional[float] = None,
                 norm_eps: float = 1e-6, text_norm_eps: float = 1e-12, act_cfg: Optional[dict] = None,
                 with_cp: bool = False, out_indices: Union[int, Sequence[int]] = -1, out_type: str = 'raw',
                 image_only: bool = False, init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str) and arch not in ARCH_ZOO or isinstance(arch, dict) and not {
                'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'} <= set(arch):
            raise ValueError(f'VLMo arch {arch!r}: one of {sorted(ARCH_ZOO)} or a dict with embed_dims, num_layers, '
                             'num_heads and feedforward_channels (and optionally vlffn_start)')
        arch = dict(ARCH_ZOO[arch] if isinstance(arch, str) else arch)
        self.embed_dims = C = arch['embed_dims']
        self.num_layers = depth = arch['num_layers']
        self.num_heads, self.patch_size, self.with_cp = arch['num_heads'], patch_size, with_cp
        self.vlffn_start = arch.get('vlffn_start', max(depth - 2, 0)) if vlffn_start is None else vlffn_start
        if not 0 <= self.vlffn_start <= depth or rel_pos_text_len < 2 or num_token_types < 2:
            raise ValueError(f'VLMo: vlffn_start={self.vlffn_start} must be in [0, {depth}], rel_pos_text_len='
                             f'{rel_pos_text_len} >= 2 and num_token_types={num_token_types} >= 2')
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.grid = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.vocab_size, self.rel_pos_text_len = vocab_size, rel_pos_text_len
        self.use_mask_token, self.num_token_types = use_mask_token, num_token_types
        self.transformer = nn.Module()
        self.transformer.patch_embed = nn.Module()
        self.transformer.patch_embed.proj = nn.Conv2d(in_channels, C, patch_size, patch_size)
        self.transformer.cls_token = nn.Parameter(torch.zeros(1, 1, C))
        if use_mask_token:
            self.transformer.mask_token = nn.Parameter(torch.zeros(1, 1, C))
        self.transformer.pos_drop = nn.Dropout(drop_rate)
        dpr = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # torch.linspace, meta-device safe
        self.transformer.blocks = nn.ModuleList([
            MoMEBlock(C, self.num_heads, arch['feedforward_channels'], (TEXT, IMAGE), i >= self.vlffn_start, True,
                      layer_scale_init_value, norm_eps, drop_rate, attn_drop_rate, dpr[i], act_cfg)
            for i in range(depth)])
        self.transformer.norm = nn.LayerNorm(C, eps=norm_eps)
        rows = vlmo_table_rows(self.grid, rel_pos_text_len)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, self.num_heads * depth))
        self.text_embeddings = te = nn.Module()  # HF BertEmbeddings (BertConfig: pad id 0, 2 token types)
        te.word_embeddings = nn.Embedding(vocab_size, C, padding_idx=0)
        te.position_embeddings = nn.Embedding(max_text_len, C)  # 'rel_pos': unused, kept for the layout
        te.position_embeddings.requires_grad_(False)  # frozen: DDP finds no unused trainable weight
        te.token_type_embeddings = nn.Embedding(2, C)
        te.LayerNorm = nn.LayerNorm(C, eps=text_norm_eps)
        te.dropout = nn.Dropout(drop_path_rate if text_drop_rate is None else text_drop_rate)
        te.register_buffer('position_ids', torch.arange(max_text_len)[None])  # in VLMo's files
        self.token_type_embeddings = nn.Embedding(num_token_types, C)
        self._index_cache: Dict[tuple, Tensor] = {}  # plain attribute, not state
        self.out_type = check_out_type(out_type, type(self).__name__)
        self.out_indices = resolve_out_indices(out_indices, depth, type(self).__name__)
        self.image_only = image_only
        if image_only:
            self._freeze_unused_by_images()

    @property
    def vision_outputs(self) -> bool:
        """Whether ``out_indices`` / ``out_type`` ask for more than the last block's raw states."""
        return self.out_type != 'raw' or self.out_indices != [self.num_layers - 1]

    def _freeze_unused_by_images(self) -> None:
        """Freeze what image-only inputs never reach (kept for whole-checkpoint loading)."""
        self.text_embeddings.requires_grad_(False)
        for block in self.transformer.blocks:
            for name in block.expert_names:
                if name != IMAGE:
                    getattr(block, f'norm2_{name}').requires_grad_(False)
                    getattr(block, f'mlp_{name}').requires_grad_(False)
        if self.out_type == 'featmap':
            self.transformer.norm.requires_grad_(False)  # dense outputs are not normalised (BEiT's rule)

    def init_weights(self) -> None:
        """VLMo's init (timm truncated normal 0.02 for linears and cls token, N(0, 0.02) embeddings, zero table)."""
        if init_from_pretrained_cfg(self):
            return
        super().init_weights()
        init_blocks(self, mode='finetune')  # linears: timm's trunc normal 0.02, zero biases; unit LayerNorms
        for m in self.modules():
            if isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=.02)  # VLMo's objectives.init_weights (padding row included)
        for name in ('cls_token', 'mask_token')[:2 if self.use_mask_token else 1]:
            trunc_normal_init_(getattr(self.transformer, name), .02, mode='finetune')
        nn.init.zeros_(self.relative_position_bias_table)

    def checkpoint_target(self) -> ConversionTarget:
        """State shapes, patch grid, text rows of the table and depth, for the 'vlmo' converter."""
        return ConversionTarget(module_state_shapes(self), self.grid,
                                extra=dict(rel_pos_text_len=self.rel_pos_text_len, num_layers=self.num_layers))

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id for layer-wise lr decay (beitmm's choice, VLMo has none): BEiT's rule.

        Args:
            param_name: Parameter name including ``prefix``.
            prefix: Prefix of the backbone's parameters (e.g. 'backbone.').

        Returns:
            (layer id, depth + 2): embeddings 0, ``transformer.blocks.k`` k + 1, the rest (final norm, the merged
            table as BEiT's shared one) depth + 1.
        """
        num_layers, name = self.num_layers + 2, param_name[len(prefix):]
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        if name.startswith(('transformer.cls_token', 'transformer.mask_token', 'transformer.patch_embed.',
                            'text_embeddings.', 'token_type_embeddings.')):
            return 0, num_layers
        if name.startswith('transformer.blocks.'):
            return int(name.split('.')[2]) + 1, num_layers
        return num_layers - 1, num_layers

    def embed_text(self, text: Tensor) -> Tensor:
        """BERT embeddings (``dropout(LN(word + BERT type 0))``) plus token type 0: [B, L, C]."""
        if text.dim() != 2 or not 1 <= text.shape[1] <= self.rel_pos_text_len:
            raise ValueError(f'text must be token ids [B, L] with 1 <= L <= rel_pos_text_len='
                             f'{self.rel_pos_text_len}, got {tuple(text.shape)}')
        if int(text.min()) < 0 or int(text.max()) >= self.vocab_size:
            bad = text[(text < 0) | (text >= self.vocab_size)].unique().tolist()[:5]
            raise ValueError(f'token ids {bad} are outside the text embedding of vocab_size={self.vocab_size}')
        te = self.text_embeddings  # BertEmbeddings with 'rel_pos': no absolute position is added
        x = te.dropout(te.LayerNorm(te.word_embeddings(text) + te.token_type_embeddings.weight[0]))
        return x + self.token_type_embeddings.weight[0]

    def embed_image(self, image: Tensor, image_mask: Optional[Tensor] = None,
                    token_type: int = 1) -> Tuple[Tensor, Grid]:
        """Patches (padded bottom / right to the patch size), mask token, cls, token type: [B, 1 + Hp * Wp, C]."""
        if not 0 <= token_type < (n := self.token_type_embeddings.num_embeddings):
            raise ValueError(f'image_token_type={token_type} must be in [0, num_token_types={n})')
        x, grid = patchify(image, self.transformer.patch_embed.proj, self.patch_size)  # [B, Hp * Wp, C]
        if image_mask is not None:
            if not self.use_mask_token:
                raise ValueError('image_mask needs a mask token: build the model with use_mask_token=True')
            x = mask_patches(x, image_mask, self.transformer.mask_token, grid, 'image_mask')
        x = torch.cat([self.transformer.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        return self.transformer.pos_drop(x) + self.token_type_embeddings.weight[token_type], grid

    def rel_pos_bias(self, text_len: int, grid: Optional[Grid]) -> Sequence[Tensor]:
        """Per-layer biases [heads, N, N] from one gather of the merged table (image rows resized to ``grid``)."""
        table = self.relative_position_bias_table  # [rows, heads * depth]
        if grid is not None and grid != self.grid:
            table = resize_vlmo_table(table, self.grid, grid)
        key = (text_len, grid, table.device)
        if key not in self._index_cache:
            index = vlmo_relative_position_index(text_len, grid, self.grid, self.rel_pos_text_len)
            self._index_cache[key] = index.to(table.device)
        bias = F.embedding(self._index_cache[key], table).permute(2, 0, 1)  # [heads * depth, N, N]
        return bias.contiguous().chunk(self.num_layers, dim=0)

    def forward(self, image: Optional[Tensor] = None, text: Optional[Tensor] = None,
                text_padding_mask: Optional[Tensor] = None, image_mask: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None, image_token_type: int = 1,
                vl_branch: bool = False, text_positions: Optional[Tensor] = None,
                kv_cache=None) -> Tuple[Tensor, ...]:
        """Encode images, texts or image-text pairs.

        Args:
            image: Images [B, 3, H, W], or None.
            text: Token ids [B, L], or None.
            text_padding_mask: Bool [B, L], True at padding (VLMo's ``text_masks`` is its negation).
            image_mask: Bool [B, Hp, Wp] / [B, Hp * Wp]: patches replaced by the mask token.
            attn_mask: Extra bool (True = may attend) or additive mask broadcastable to [B, heads, N, N].
            image_token_type: Token type of the image (NLVR2's second image: 2).
            vl_branch: Single-modality input: also run the layers from ``vlffn_start`` with the VL expert (VLMo's
                ``infer_image`` / ``infer_text`` for the VL contrastive loss).
            text_positions: Text-only input: explicit position ids [B, L] / [L] (s2s-ft; see ``forward_text``).
            kv_cache: Text-only input: a key / value cache for incremental decoding (see ``forward_text``).

        Returns:
            ``(hidden,)`` or, with ``vl_branch``, ``(vl_hidden, hidden)``: final-norm states [B, N, C], text first.
            An image-only input of a backbone built with other ``out_indices`` / ``out_type`` gives
            :meth:`forward_image`'s outputs instead.
        """
        if image is None and text is None:
            raise ValueError('VLMo.forward needs an image, a text or both')
        if text is not None and (self.image_only or self.vision_outputs):
            raise ValueError(f'text input to a vision-transfer {type(self).__name__} (image_only={self.image_only}, '
                             f'out_type={self.out_type!r}, out_indices={self.out_indices}): VL tasks need '
                             "image_only=False, out_type='raw' and out_indices=-1")
        if image is not None and text is None and not vl_branch and self.vision_outputs:
            return self.forward_image(image, image_mask, image_token_type)
        if text_positions is not None or kv_cache is not None:
            if image is not None or text is None or vl_branch or text_padding_mask is not None:
                raise ValueError('text_positions / kv_cache are for text-only inputs (padding in attn_mask)')
            return self.forward_text(text, text_positions, attn_mask, kv_cache)
        if text_padding_mask is not None and (text is None or text_padding_mask.dtype != torch.bool
                                              or text_padding_mask.shape != text.shape):
            raise ValueError(f'text_padding_mask must be bool like the text [B, L], True at padding; got '
                             f'{text_padding_mask.dtype} {tuple(text_padding_mask.shape)} for text '
                             f'{None if text is None else tuple(text.shape)}')
        parts, grid = ([(TEXT, self.embed_text(text))] if text is not None else []), None
        if image is not None:
            x, grid = self.embed_image(image, image_mask, image_token_type)
            parts.append((IMAGE, x))
        spans = tuple((name, t.shape[1]) for name, t in parts)
        if vl_branch and (len(spans) > 1 or self.vlffn_start == self.num_layers):
            raise ValueError('vl_branch is for image-only or text-only inputs of a model with VL experts '
                             f'(vlffn_start={self.vlffn_start}, {self.num_layers} layers)')
        x = torch.cat([t for _, t in parts], dim=1)  # [B, N, C]
        mask = attn_mask
        if text_padding_mask is not None:
            pad = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)  # [B, N]: image tokens never pad
            pad[:, :text.shape[1]] = text_padding_mask
            mask = combine_masks(attn_mask, padding_to_attn_mask(pad))
        biases = self.rel_pos_bias(0 if text is None else text.shape[1], grid)
        vl_x = x
        for i, block in enumerate(self.transformer.blocks):
            vl_x = x if i == self.vlffn_start else vl_x
            x = self._block(block, x, spans, mask, biases[i])
        outs = [self.transformer.norm(x)]
        for i in range(self.vlffn_start, self.num_layers if vl_branch else 0):
            vl_x = self._block(self.transformer.blocks[i], vl_x, ((VL, x.shape[1]), ), mask, biases[i])
        return ((self.transformer.norm(vl_x), ) if vl_branch else ()) + tuple(outs)

    def forward_image(self, image: Tensor, image_mask: Optional[Tensor] = None,
                      image_token_type: int = 1) -> Tuple[Tensor, ...]:
        """Image-only outputs of ``out_indices`` shaped by ``out_type`` (the vision experts only, as VLMo's).

        Args:
            image: Images [B, 3, H, W].
            image_mask: Optional bool mask [B, Hp, Wp] / [B, Hp * Wp] (needs the mask token).
            image_token_type: Token type of the image.

        Returns:
            One output per ``out_indices`` entry (see ``out_type``).
        """
        x, grid = self.embed_image(image, image_mask, image_token_type)  # [B, 1 + Hp * Wp, C]
        spans, last, outs = ((IMAGE, x.shape[1]), ), self.num_layers - 1, []
        biases = self.rel_pos_bias(0, grid)
        for i, block in enumerate(self.transformer.blocks[:self.out_indices[-1] + 1]):
            x = self._block(block, x, spans, None, biases[i])
            if i in self.out_indices:  # an index listed twice is returned twice
                normed = i == last and self.out_type in ('raw', 'cls_token', 'avg_featmap')
                out = format_tokens(x, grid, self.out_type, self.transformer.norm if normed else None)
                outs.extend([out] * self.out_indices.count(i))
        return tuple(outs)

    # ------------------------------------------------------------------ text only: explicit positions, cache
    def encode_text(self, ids: Tensor, positions: Optional[Tensor] = None, segments: Optional[Tensor] = None,
                    attn_mask: Optional[Tensor] = None, padding: Optional[Tensor] = None, kv_cache=None) -> Tensor:
        """Text-only hidden states [B, N, C] (TextBackbone): relative positions only, padding goes into the mask."""
        if padding is not None:
            attn_mask = combine_masks(attn_mask, padding_to_attn_mask(padding))
        positions = positions if positions is not None else torch.arange(ids.shape[1], device=ids.device)
        return self(text=ids, text_positions=positions, attn_mask=attn_mask, kv_cache=kv_cache)[-1]

    # VLMo adds no absolute text position: positions enter only through the merged relative position table (text
    # rows: the 1-d distance key - query, and three rows for the cls token at position 0). s2s-ft needs positions
    # that are not 0..N-1 (target tokens continue after the real source length, pseudo tokens repeat their
    # target's), and a decoding step whose queries are the new tokens and whose keys are every cached token too, so
    # the text bias is built here from query and key position ids.
    def text_bias(self, query_pos: Tensor, key_pos: Tensor) -> Sequence[Tensor]:
        """Per-layer text biases [B, heads, Nq, Nk] of queries / keys at position ids [B, Nq] / [B, Nk].

        The same rows as ``text_relative_position_index`` for positions ``0..L-1``: ``first + rel - 2 + (k - q)``,
        and the cls rows for position 0 (query cls, key cls, both).
        """
        rel = self.rel_pos_text_len
        if int(key_pos.max()) >= rel or int(query_pos.min()) < 0:
            raise ValueError(f'text positions must be in [0, rel_pos_text_len={rel}), got up to {int(key_pos.max())}:'
                             ' build VLMo with a larger rel_pos_text_len (its table rows) or shorten the texts')
        first = rel_pos_table_len(self.grid) + CROSS_ROWS
        last = first + 2 * rel
        qc, kc = (query_pos == 0)[:, :, None], (key_pos == 0)[:, None, :]
        index = first + rel - 2 + (key_pos[:, None, :] - query_pos[:, :, None])  # [B, Nq, Nk]
        index = torch.where(qc, last - 3, index)
        index = torch.where(kc, last - 2, index)
        index = torch.where(qc & kc, last - 1, index)
        bias = F.embedding(index, self.relative_position_bias_table)  # [B, Nq, Nk, heads * depth]
        return bias.permute(0, 3, 1, 2).chunk(self.num_layers, dim=1)

    def forward_text(self, text: Tensor, positions: Optional[Tensor] = None, attn_mask: Optional[Tensor] = None,
                     kv_cache=None) -> Tuple[Tensor]:
        """Encode texts [B, N] at position ids ``positions`` ([B, N] / [N]; default 0..N-1) against the cache.

        Args:
            text: Token ids of the new tokens.
            positions: Their position ids (0 is the [CLS] position of VLMo's table).
            attn_mask: Bool [B|1, 1, N, T + N] (True = may attend), the cached keys first.
            kv_cache: ``beitmm.models.generation.KVCache`` (its ``positions`` hold the cached tokens' ids), or None.

        Returns:
            ``(hidden,)``: final-norm states [B, N, C].
        """
        B, N = text.shape
        q_pos = torch.arange(N, device=text.device) if positions is None else positions.to(text.device)
        q_pos = q_pos.expand(B, N) if q_pos.dim() == 1 else q_pos
        if q_pos.shape != (B, N):
            raise ValueError(f'text positions must be [{N}] or [{B}, {N}], got {tuple(positions.shape)}')
        k_pos = q_pos
        if kv_cache is not None:
            if kv_cache.positions is not None:
                k_pos = torch.cat([kv_cache.positions, q_pos], dim=1)
            kv_cache.positions = k_pos
        x = self.embed_text(text)  # [B, N, C]
        biases = self.text_bias(q_pos, k_pos)
        spans = (('text', N), )
        for i, block in enumerate(self.transformer.blocks):
            x = block(x, spans, attn_mask, biases[i], None if kv_cache is None else kv_cache[i])
        return (self.transformer.norm(x), )

    def _block(self, block: MoMEBlock, x: Tensor, spans: Spans, mask: Optional[Tensor], bias: Tensor) -> Tensor:
        if self.with_cp and self.training and x.requires_grad:
            return checkpoint(block, x, spans, mask, bias, use_reentrant=False)
        return block(x, spans, mask, bias)

    def extra_repr(self) -> str:
        """Widths, depth, VL expert start and grid."""
        return (f'embed_dims={self.embed_dims}, depth={self.num_layers}, heads={self.num_heads}, '
                f'vlffn_start={self.vlffn_start}, grid={self.grid}, rel_pos_text_len={self.rel_pos_text_len}, '
                f'out_type={self.out_type!r}, out_indices={self.out_indices}, image_only={self.image_only}')


@MODELS.register_module()
class VLBEiT(VLMo):
    """VL-BEiT (Bao et al., 2022, "VL-BEiT: Generative Vision-Language Pretraining"; paper only, no code).

    VLMo's backbone trained from scratch in one stage (masked language, image and vision-language modeling). Every
    default is a beitmm choice, VLMo's value where one exists: 'base' widths, VL expert from layer 10, 224 px, patch
    16, BERT uncased vocabulary (30522), ``rel_pos_text_len`` 196, ``max_text_len`` 40, layer scale 0.1, and a mask
    token (``transformer.mask_token``, BEiT's name) for masked image modeling.

    Args:
        arch: See :class:`VLMo` (choice: 'base').
        use_mask_token: Learn the mask token (choice: True).
        **kwargs: Other :class:`VLMo` arguments.
    """

    def __init__(self, arch: Union[str, dict] = 'base', use_mask_token: bool = True, **kwargs) -> None:
        super().__init__(arch=arch, use_mask_token=use_mask_token, **kwargs)
