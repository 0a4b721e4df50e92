"""BEiT v2 CLS-pretraining branch (patch aggregation): a neck of the unified MIM algorithm.

Paper: BEiT v2 (Peng et al., 2022), Sec. 2.3. Reference: microsoft/unilm ``beit2/modeling_pretrain.py``
(``VisionTransformerForMaskedImageModelingCLS``). Two extra blocks read [final-layer cls token ;
patch tokens after block ``early_layers``]; their output goes through the backbone's *shared*
final norm and the *shared* LM head, so the cls token must gather the image's global information
for the shallow branch to predict the masked tokens. Parameters live at ``neck.cls_pt_layers.*``
and are dropped when the backbone is fine-tuned.
"""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from beitmm.registry import MODELS

from ..backbones import resolve_beit_arch
from ..layers import Block, rescale_blocks


@MODELS.register_module()
class BEiTV2Neck(BaseModule):
    """CLS-pretraining blocks driving the backbone.

    ``drives_backbone``: the MIM algorithm calls ``neck(backbone, img, mask)`` instead of the backbone.

    Args:
        arch: Backbone arch ('base', 'large' or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads``, ``feedforward_channels``); the branch blocks have the backbone's width.
        num_layers: Blocks of the branch (2).
        early_layers: Patch tokens are taken after this many backbone blocks (9 for B, 21 for L).
        drop_path_rate: Stochastic depth of the backbone; branch block j gets the rate of depth
            position ``early_layers + j`` as in unilm.
        layer_scale_init_value: Layer-scale init (0.1 for B, 1e-5 for L).
        qv_bias: q / v biases.
        norm_eps: LayerNorm epsilon of the blocks.
        init_cfg: mmengine init config.
    """

    drives_backbone = True

    def __init__(self, arch: Union[str, dict] = 'base', num_layers: int = 2, early_layers: int = 9,
                 drop_path_rate: float = 0., layer_scale_init_value: float = 0.1, qv_bias: bool = True,
                 norm_eps: float = 1e-6, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        arch = resolve_beit_arch(arch)
        depth = arch['num_layers']
        if not 1 <= early_layers <= depth:
            raise ValueError(f'early_layers={early_layers} must be in [1, {depth}] (backbone depth)')
        self.embed_dims, self.early_layers = arch['embed_dims'], early_layers
        dpr = torch.linspace(0, drop_path_rate, max(depth, early_layers + num_layers)).tolist()
        self.cls_pt_layers = nn.ModuleList([
            Block(arch['embed_dims'], arch['num_heads'], arch['feedforward_channels'], qv_bias, None,
                  layer_scale_init_value, 0., 0., dpr[early_layers + j], norm_eps) for j in range(num_layers)
        ])

    def init_weights(self) -> None:
        """The unilm init of the branch: PyTorch's default init, then the output projections rescaled.

        PyTorch's default ``nn.Linear`` init (uniform weights and biases), then the output projections divided
        by sqrt(2 * depth position) (``fix_init_cls_pt_weight``).

        unilm creates ``cls_pt_layers`` after its model-wide ``apply(_init_weights)``, so the trunc-normal
        init never reaches them; the layers here are as PyTorch built them, and only rescaled, once.
        """
        super().init_weights()
        if not getattr(self, '_branch_rescaled', False):
            rescale_blocks(self.cls_pt_layers, first_depth=self.early_layers + 1)
            self._branch_rescaled = True

    def forward(self, backbone: nn.Module, img: Tensor, mask: Optional[Tensor] = None) -> List[Tensor]:
        """Run the backbone and the branch.

        Args:
            backbone: The student (``beitmm.BEiT``: ``embed``, ``forward_blocks``, ``rel_pos_bias``, ``norm``).
            img: Student view [B, 3, H, W].
            mask: Bool mask [B, N] or [B, Hp, Wp].

        Returns:
            [final patch tokens, branch patch tokens], each [B, N, C] after the shared final norm.
        """
        if backbone.embed_dims != self.embed_dims or backbone.num_layers < self.early_layers:
            raise ValueError(f'BEiTV2Neck (width {self.embed_dims}, early_layers {self.early_layers}) does not fit '
                             f'the backbone (width {backbone.embed_dims}, depth {backbone.num_layers})')
        x, grid = backbone.embed(img, mask)  # [B, N+1, C]
        early = None
        for i, out in backbone.forward_blocks(x, grid):
            x = out  # after the loop: the last block's tokens
            if i + 1 == self.early_layers:
                early = out[:, 1:]  # [B, N, C] before any norm
        shared = backbone.rel_pos_bias(grid) if getattr(backbone, 'rel_pos_bias', None) is not None else None
        y = torch.cat([x[:, :1], early], dim=1)  # final cls + early patches, [B, N+1, C]
        for blk in self.cls_pt_layers:
            y = blk(y, grid, shared)
        return [backbone.norm(x)[:, 1:], backbone.norm(y)[:, 1:]]
