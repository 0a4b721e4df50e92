"""Tiny pretraining models and hand-built multi-stream batches for tests and the benchmark.

The batches follow the multi-source loader's format (vlpretrain contract; ``beitmm.MultiStreamDataPreprocessor``):
``{'image': {...}, 'text': {...}, 'pair': {...}}`` with uint8 images, bool patch masks, masked text ids and
``mlm_labels`` (-100 where nothing is predicted).
"""
from typing import Dict, Optional, Sequence

import torch

from .vl import TINY_BEIT3, TINY_VLMO

TINY_VOCAB = 160


def tiny_vqkd(img_size: int = 32, patch_size: int = 16, num_codes: int = 16, checkpoint: Optional[str] = None,
              width: int = 32) -> dict:
    """A one-block ``beitmm.VQKD`` tokenizer config (``as_tokenizer=True``) on the student's patch grid."""
    return dict(type='beitmm.VQKD', as_tokenizer=True, checkpoint=checkpoint,
                encoder=dict(type='beitmm.BEiT', arch=dict(embed_dims=width, num_layers=1, num_heads=2,
                                                           feedforward_channels=2 * width),
                             img_size=img_size, patch_size=patch_size, out_type='raw', layer_scale_init_value=0.,
                             use_abs_pos_emb=True, use_rel_pos_bias=False),
                num_codes=num_codes, code_dim=8, kmeans_init=False)


def tiny_mdm(kind: str = 'beit3', img_size: int = 32, **kwargs) -> dict:
    """A ``beitmm.MaskedDataModeling`` config on the 2-layer, 32-wide BEiT-3 (``'beit3'``) or VL-BEiT (``'vlbeit'``)."""
    if kind == 'beit3':
        backbone = dict(type='beitmm.BEiT3', arch=TINY_BEIT3, img_size=img_size, patch_size=16,
                        vocab_size=TINY_VOCAB, max_text_positions=66, use_mask_token=True)
    else:
        backbone = dict(type='beitmm.VLBEiT', arch=TINY_VLMO, img_size=img_size, patch_size=16,
                        vocab_size=TINY_VOCAB, max_text_len=40, rel_pos_text_len=40)
    return dict(type='beitmm.MaskedDataModeling', backbone=backbone, target_generator=tiny_vqkd(img_size),
                mim_head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=16), **kwargs)


def tiny_beit_backbone(img_size: int = 32) -> dict:
    """A 2-layer, 32-wide ``beitmm.BEiT`` pretraining student (shared relative bias, layer scale): VLMo stage 1."""
    return dict(type='beitmm.BEiT', arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                img_size=img_size, patch_size=16, out_type='raw', layer_scale_init_value=0.1, use_abs_pos_emb=False,
                use_rel_pos_bias=False, use_shared_rel_pos_bias=True, use_mask_token=True)


def tiny_vlmo(img_size: int = 32, vlffn_start: Optional[int] = None) -> dict:
    """The 2-layer, 32-wide ``beitmm.VLMo`` (VL expert in the last layer; ``vlffn_start=2``: none, stage 2)."""
    arch = dict(TINY_VLMO) if vlffn_start is None else dict(TINY_VLMO, vlffn_start=vlffn_start)
    return dict(type='beitmm.VLMo', arch=arch, img_size=img_size, patch_size=16, vocab_size=TINY_VOCAB,
                max_text_len=40, rel_pos_text_len=40)


def stream_batch(batch_size: int = 3, text_len: int = 6, img_size: int = 32, patch_size: int = 16,
                 streams: Sequence[str] = ('image', 'text', 'pair'), vocab_size: int = TINY_VOCAB,
                 mask_id: int = 3, seed: int = 0) -> Dict[str, dict]:
    """A collated multi-stream batch: random images, one masked patch per image, one masked token per text.

    Args:
        batch_size: Samples per stream.
        text_len: Tokens per text (the first sample's last two are padding).
        img_size: Image side.
        patch_size: Patch side of the model (the mask grid is ``img_size // patch_size``).
        streams: Which streams to build.
        vocab_size: Token ids are drawn from ``[4, vocab_size)``.
        mask_id: Id written at the masked text position.
        seed: Seed of the draws.

    Returns:
        ``{stream: {key: tensor}}``.
    """
    g = torch.Generator().manual_seed(seed)
    B, L, h = batch_size, text_len, img_size // patch_size
    img = torch.randint(0, 256, (B, 3, img_size, img_size), dtype=torch.uint8, generator=g)
    mask = torch.zeros(B, h, h, dtype=torch.bool)
    mask[torch.arange(B), torch.arange(B) % h, 0] = True
    ids = torch.randint(4, vocab_size, (B, L), generator=g)
    pad = torch.zeros(B, L, dtype=torch.bool)
    pad[0, -2:] = True
    labels = torch.full((B, L), -100)
    labels[:, 1] = ids[:, 1]
    masked = ids.clone()
    masked[:, 1] = mask_id
    text = dict(text_ids=ids, padding_mask=pad, masked_text_ids=masked, mlm_labels=labels, index=torch.arange(B))
    image = dict(img=img, mask=mask, index=torch.arange(B))
    out = dict(image=image, text=text, pair=dict(image, **text))
    return {k: out[k] for k in streams}


def shrink_pretrain_model(cfg, work_dir: str, max_iters: int = 2):
    """Make a shipped pretraining config's model and schedule tiny (the data: ``shrink_pretrain_config``).

    The backbone gets the 2-layer, 32-wide arch of its family, 32 px, the tiny vocabulary (160 rows) and no
    checkpoint; a tokenizer becomes :func:`tiny_vqkd` (16 codes) and the MIM head shrinks with it; fp32 AdamW,
    ``max_iters`` iterations, no schedule, a checkpoint at the end.

    Args:
        cfg: The loaded config (changed in place and returned).
        work_dir: Run directory.
        max_iters: Training iterations.

    Returns:
        The config.
    """
    bb = cfg.model.backbone
    vlmo = not bb['type'].endswith('BEiT3')
    arch = dict(TINY_VLMO if vlmo else TINY_BEIT3)
    if vlmo and bb.get('vlffn_start', 0) >= 12:
        arch['vlffn_start'] = 2  # stage 2: no VL expert
    bb.update(arch=arch, img_size=32, vocab_size=TINY_VOCAB, drop_path_rate=0.)
    if vlmo:
        bb.update(max_text_len=40, rel_pos_text_len=40, vlffn_start=None)
    else:
        bb.update(max_text_positions=66)
    if 'target_generator' in cfg.model:
        cfg.model.target_generator = tiny_vqkd()
        cfg.model.mim_head.update(in_channels=32, out_channels=16)
    cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
    cfg.param_scheduler = []
    cfg.train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=max_iters)
    cfg.default_hooks.checkpoint = dict(type='beitmm.AtomicCheckpointHook', by_epoch=False, interval=max_iters)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = work_dir
    cfg.env_cfg.mp_cfg.mp_start_method = 'fork'
    return cfg
