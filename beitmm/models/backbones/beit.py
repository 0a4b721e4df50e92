"""BEiT backbone: one class for MIM pretraining, classification and dense prediction.

Papers: BEiT (Bao et al., 2021), BEiT v2 (Peng et al., 2022). Parameter names follow
microsoft/unilm, so official checkpoints load by copy; the only rename is the final
``fc_norm`` -> ``norm`` (one final norm whatever the pooling), done by the checkpoint filter.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from beitmm.checkpoint import ConversionTarget, init_from_pretrained_cfg, module_state_shapes
from beitmm.pos_embed import resize_abs_pos_embed
from beitmm.registry import MODELS

from ..layers import INIT_MODES, Block, RelativePositionBias, init_blocks, mask_patches, patchify, trunc_normal_init_
from .beit_args import ARCH_ZOO, translate_openmmlab_args
from .vit_outputs import OUT_TYPES, check_out_type, format_tokens, resolve_out_indices

__all__ = ['BEiT', 'OUT_TYPES']


def _pair(x: Union[int, Sequence[int]]) -> Tuple[int, int]:
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[1]))


@MODELS.register_module()
class BEiT(BaseModule):
    """Vision Transformer of BEiT with relative position bias, layer scale and q/v bias.

    Args:
        arch: 'tiny' | 'small' | 'base' | 'large' | 'huge' (``ARCH_ZOO``; 'small' is timm's 384-wide
            ViT-S) or a dict with ``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``.
        img_size: Training image size (int or (H, W)); fixes the learned position grid. Other
            input sizes work at run time (position tables are resized on the fly).
        patch_size: Patch size.
        in_channels: Input channels.
        out_indices: Blocks whose output is returned (negative counts from the end).
        out_type: 'raw' tokens [B, N+1, C] | 'cls_token' [B, C] | 'featmap' [B, C, Hp, Wp] |
            'avg_featmap' [B, C] (mean patch token). None: 'featmap' when several ``out_indices``
            are asked for (dense prediction, mmseg's ``BEiT``), else 'avg_featmap' (mmpretrain's
            default). The final ``norm`` is applied to the last block's output for 'raw' and
            'cls_token' (per token) and 'avg_featmap' (after the mean, as unilm's ``fc_norm``);
            'featmap' outputs are not normalised (see ``final_norm``).
        drop_rate: Dropout after attention projections and in MLPs.
        attn_drop_rate: Attention dropout.
        drop_path_rate: Stochastic depth, linearly increasing to this value.
        qv_bias: Learn q and v biases.
        layer_scale_init_value: Layer-scale init (0.1 for base, 1e-5 for large); 0 disables.
        use_abs_pos_emb: Learn an absolute position embedding.
        use_rel_pos_bias: A relative position bias table per block (fine-tuning layout).
        use_shared_rel_pos_bias: One table shared by all blocks (pretraining layout).
        use_mask_token: Learn a mask token (masked image modeling input).
        norm_eps: LayerNorm epsilon.
        act_cfg: MLP activation config (default GELU; THE-X approximations plug in here).
        softmax_cfg: Attention softmax replacement of every block (default exact softmax; e.g.
            ``dict(type='beitmm.THEXSoftmax')``).
        block_norm_cfg: Norm config of the blocks' ``norm1`` / ``norm2`` (default LayerNorm with ``norm_eps``;
            e.g. ``dict(type='beitmm.THEXAffineNorm')``).
        init_mode: 'pretrain': unilm's pretraining initialisation (``modeling_pretrain.py``:
            truncated normal at +-1 std for every Linear, the patch-embedding Conv2d, the cls / mask
            tokens and absolute positions, zero biases); 'finetune': its fine-tuning one
            (``modeling_finetune.py``: timm's truncated normal with bounds +-2, patch embedding left
            at PyTorch's default). Both rescale the block output projections (``fix_init_weight``).
            Only matters when no checkpoint is loaded.
        final_norm: Override whether the last block's tokens go through ``norm`` for 'raw',
            'cls_token' and 'featmap' (None: beitmm's rule above). 'avg_featmap' always normalises
            after pooling and cannot also normalise per token.
        frozen_stages: Freeze the embeddings and the first ``frozen_stages`` blocks (and ``norm``
            when all are frozen), as mmpretrain's ``frozen_stages``; -1 or 0 freezes nothing.
        with_cp: Activation checkpointing of every block while training (less memory).
        with_cls_token: Put the cls token in the sequence. False: patch tokens only, as ViTDet's detection
            backbone (the ``cls_token`` weight is kept, frozen, so checkpoints load whole); only 'featmap' and
            'avg_featmap' outputs.
        window_size: ViTDet's window attention: the blocks of ``window_block_indexes`` attend inside
            ``window_size`` x ``window_size`` windows of the patch grid (padded bottom / right) and keep a relative
            position table for one window (14 = the 224-px pretraining grid, whose tables load unresized); the other
            blocks attend over the whole grid. 0: no windows. Needs ``with_cls_token=False``.
        window_block_indexes: Blocks with window attention (negative counts from the end).
        init_cfg: mmengine init config; ``dict(type='Pretrained', checkpoint=PATH, prefix=...)``
            loads any supported checkpoint layout (see ``beitmm.checkpoint``).
        **openmmlab_kwargs: mmseg ``BEiT`` / mmpretrain ``BEiTViT`` argument names (``embed_dims``,
            ``num_layers``, ``num_heads``, ``mlp_ratio``, ``init_values``, ``norm_cfg``, ``bias``,
            ``pretrained``, ...), translated by :func:`~beitmm.models.backbones.beit_args.translate_openmmlab_args`.
    """

    checkpoint_converter = 'beit'  # beitmm.checkpoint.BEiTConverter: every BEiT-family layout
    arch_zoo = ARCH_ZOO  # presets, read by beitmm.engine.config_fit

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: Optional[str] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 qv_bias: bool = True,
                 layer_scale_init_value: float = 0.1,
                 use_abs_pos_emb: bool = False,
                 use_rel_pos_bias: bool = True,
                 use_shared_rel_pos_bias: bool = False,
                 use_mask_token: bool = False,
                 norm_eps: float = 1e-6,
                 act_cfg: Optional[dict] = None,
                 softmax_cfg: Optional[dict] = None,
                 block_norm_cfg: Optional[dict] = None,
                 init_mode: str = 'finetune',
                 final_norm: Optional[bool] = None,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 with_cls_token: bool = True,
                 window_size: int = 0,
                 window_block_indexes: Sequence[int] = (),
                 init_cfg: Optional[Union[dict, list]] = None,
                 **openmmlab_kwargs) -> None:
        given = dict(layer_scale_init_value=layer_scale_init_value, qv_bias=qv_bias, norm_eps=norm_eps,
                     act_cfg=act_cfg, init_cfg=init_cfg, final_norm=final_norm, frozen_stages=frozen_stages,
                     with_cls_token=with_cls_token)
        translated = translate_openmmlab_args(arch, openmmlab_kwargs)
        arch = translated.pop('arch')
        given.update(translated)
        super().__init__(init_cfg=given['init_cfg'])
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if out_type is None:
            out_type = 'featmap' if len(out_indices) > 1 else 'avg_featmap'
        check_out_type(out_type, 'BEiT')
        if init_mode not in INIT_MODES:
            raise ValueError(f'init_mode {init_mode!r} is not one of {INIT_MODES}')
        final_norm = given['final_norm']
        if out_type == 'avg_featmap' and final_norm:
            raise ValueError("out_type='avg_featmap' normalises after pooling (unilm's fc_norm); a per-token "
                             'final norm as well (final_norm=True) is not supported: leave final_norm unset')
        self.embed_dims = C = arch['embed_dims']
        self.num_layers = depth = arch['num_layers']
        self.num_heads = arch['num_heads']
        self.patch_size = patch_size
        self.img_size = _pair(img_size)
        if self.img_size[0] % patch_size or self.img_size[1] % patch_size:
            raise ValueError(f'img_size {self.img_size} is not a multiple of patch_size {patch_size}')
        self.grid = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.out_type = out_type
        self.norm_tokens = out_type in ('raw', 'cls_token') if final_norm is None else bool(final_norm)
        self.out_indices = resolve_out_indices(out_indices, depth, 'BEiT')
        self.init_mode = init_mode
        self.with_cp = with_cp
        self.with_cls_token = bool(given['with_cls_token'])
        self.window_size = int(window_size)
        self.window_blocks = self._window_blocks(window_block_indexes, depth, use_shared_rel_pos_bias, out_type)

        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_channels, C, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, C))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, C)) if use_mask_token else None
        n = self.grid[0] * self.grid[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, C)) if use_abs_pos_emb else None
        self.pos_drop = nn.Dropout(drop_rate)
        self.rel_pos_bias = RelativePositionBias(self.grid, self.num_heads) if use_shared_rel_pos_bias else None
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        win = (self.window_size, self.window_size)
        self.blocks = nn.ModuleList([
            Block(C, self.num_heads, arch['feedforward_channels'], given['qv_bias'],
                  (win if i in self.window_blocks else self.grid) if use_rel_pos_bias else None,
                  given['layer_scale_init_value'], drop_rate, attn_drop_rate, dpr[i], given['norm_eps'],
                  given['act_cfg'], block_norm_cfg, softmax_cfg, self.window_size if i in self.window_blocks else 0)
            for i in range(depth)
        ])
        self.norm = nn.LayerNorm(C, eps=given['norm_eps'])
        if out_type == 'featmap' and not self.norm_tokens:
            # The final norm is unused for dense outputs; keep its keys (one layout for every
            # task) but out of the optimizer and out of DDP's unused-parameter check.
            self.norm.requires_grad_(False)
        if not self.with_cls_token:  # kept for whole-checkpoint loading, unused
            self.cls_token.requires_grad_(False)
        self.frozen_stages = given['frozen_stages']
        self._freeze_stages()

    def _window_blocks(self, indexes: Sequence[int], depth: int, shared_table: bool, out_type: str) -> Tuple[int, ...]:
        """Validate the window settings; the window blocks' indices (0-based)."""
        blocks = tuple(sorted({i + depth if i < 0 else int(i) for i in indexes}))
        if any(not 0 <= i < depth for i in blocks):
            raise ValueError(f'window_block_indexes {list(indexes)} out of range for {depth} blocks')
        if blocks and self.window_size <= 0:
            raise ValueError(f'window_block_indexes {list(indexes)} given with window_size={self.window_size}: '
                             'set window_size (ViTDet: 14)')
        if self.window_size and self.with_cls_token:
            raise ValueError('window attention needs patch tokens only: set with_cls_token=False')
        if not self.with_cls_token and (shared_table or out_type in ('raw', 'cls_token')):
            raise ValueError("with_cls_token=False supports out_type 'featmap' / 'avg_featmap' and per-block "
                             f'relative position tables, not out_type={out_type!r} / use_shared_rel_pos_bias=True')
        return blocks

    # ------------------------------------------------------------------ init
    def _frozen_modules(self) -> list:
        k = min(self.frozen_stages, self.num_layers)
        if k <= 0:
            return []
        mods = [self.patch_embed, *self.blocks[:k]]
        return mods + [self.norm] if k == self.num_layers else mods

    def _freeze_stages(self) -> None:
        frozen = self._frozen_modules()
        if not frozen:
            return
        for p in (self.cls_token, self.pos_embed, self.mask_token):
            if p is not None:
                p.requires_grad_(False)
        if self.rel_pos_bias is not None:
            self.rel_pos_bias.requires_grad_(False)
        for m in frozen:
            m.requires_grad_(False)
            m.eval()

    def train(self, mode: bool = True) -> 'BEiT':
        """Train mode, frozen stages (``frozen_stages``) staying in eval mode."""
        super().train(mode)
        for m in self._frozen_modules():
            m.eval()
        return self

    def init_weights(self) -> None:
        """The unilm initialisation (``init_mode``), or load a checkpoint of any supported layout."""
        if init_from_pretrained_cfg(self):
            return
        super().init_weights()
        for p in (self.cls_token, self.mask_token, self.pos_embed):
            if p is not None:
                trunc_normal_init_(p, .02, self.init_mode)
        if self.init_mode == 'pretrain':
            init_blocks(self.patch_embed, mode='pretrain')
        init_blocks(self.blocks, mode=self.init_mode)

    def checkpoint_target(self) -> ConversionTarget:
        """What the checkpoint converter needs: state shapes, patch grid and the pooling's norm."""
        tables = {f'blocks.{i}.attn.relative_position_bias_table': (self.window_size, self.window_size)
                  for i in self.window_blocks}
        return ConversionTarget(self.state_shapes(), self.grid, pooled_norm=self.out_type == 'avg_featmap',
                                extra=dict(table_grids=tables) if tables else {})

    # --------------------------------------------------------------- forward
    def embed(self, x: Tensor, mask: Optional[Tensor] = None) -> Tuple[Tensor, Tuple[int, int]]:
        """Patch embedding, mask tokens, cls token and absolute positions.

        Args:
            x: Images [B, 3, H, W]; H and W need not be multiples of the patch size (padded
                bottom/right).
            mask: Optional bool mask [B, Hp, Wp] or [B, N]; True patches become the mask token.

        Returns:
            Tokens [B, N+1, C] ([B, N, C] without the cls token) and the patch grid (Hp, Wp).
        """
        x, grid = patchify(x, self.patch_embed.proj, self.patch_size)  # [B, N, C]
        if mask is not None:
            if self.mask_token is None:
                raise ValueError('a mask was given but the backbone has no mask token: '
                                 'build it with use_mask_token=True')
            x = mask_patches(x, mask, self.mask_token, grid)
        if self.with_cls_token:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x), dim=1)
        if self.pos_embed is not None:
            pos = self.pos_embed
            if grid != self.grid:
                pos = resize_abs_pos_embed(pos, self.grid, grid, num_extra_tokens=1)
            x = x + (pos if self.with_cls_token else pos[:, 1:]).to(x.dtype)
        return self.pos_drop(x), grid

    def forward_blocks(self, x: Tensor, grid: Tuple[int, int], stop: Optional[int] = None):
        """Run blocks, yielding (block index, tokens [B, N+1, C]) after each one.

        Args:
            x: Tokens from :meth:`embed`.
            grid: Patch grid.
            stop: Run blocks [0, stop) only (default all).
        """
        shared = self.rel_pos_bias(grid) if self.rel_pos_bias is not None else None
        for i, blk in enumerate(self.blocks[:stop]):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(blk, x, grid, shared, use_reentrant=False)
            else:
                x = blk(x, grid, shared)
            yield i, x

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Backbone outputs.

        Args:
            x: Images [B, 3, H, W].
            mask: Optional bool mask [B, Hp, Wp] or [B, N] for masked image modeling.

        Returns:
            One output per ``out_indices`` entry, shaped by ``out_type``.
        """
        x, grid = self.embed(x, mask)
        outs = []
        last = self.num_layers - 1
        for i, tokens in self.forward_blocks(x, grid, self.out_indices[-1] + 1):
            if i in self.out_indices:  # an index listed twice is returned twice
                outs.extend([self._format(tokens, grid, i == last)] * self.out_indices.count(i))
        return tuple(outs)

    def _format(self, x: Tensor, grid: Tuple[int, int], is_last: bool) -> Tensor:
        normed = is_last and (self.out_type == 'avg_featmap' or self.norm_tokens)
        return format_tokens(x, grid, self.out_type, self.norm if normed else None, self.with_cls_token)

    # ------------------------------------------------------------ utilities
    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise lr decay.

        Args:
            param_name: Parameter name, including ``prefix`` when the backbone sits in a model.
            prefix: Prefix of backbone parameters in ``param_name`` (e.g. 'backbone.').

        Returns:
            (layer_id, num_layers) with num_layers = depth + 2: embeddings 0, block i -> i + 1,
            everything else (shared rel-pos bias as in unilm, norms, necks, heads) depth + 1.
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('cls_token', 'mask_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers

    def state_shapes(self) -> Dict[str, torch.Size]:
        """``{name: shape}`` of the state dict: the target of checkpoint conversion."""
        return module_state_shapes(self)

    def extra_repr(self) -> str:
        """The main settings, shown by ``repr(module)``."""
        windows = f', window_size={self.window_size}, window_blocks={list(self.window_blocks)}' \
            if self.window_blocks else ''
        return (f'embed_dims={self.embed_dims}, depth={self.num_layers}, heads={self.num_heads}, '
                f'grid={self.grid}, out_type={self.out_type!r}, out_indices={self.out_indices}{windows}')

