"""Tiny BEiT v2 pieces for tests: a VQ-KD with a small codebook and shrunk v2 configs."""
import copy
from typing import Any, Optional

from mmengine.config import Config

from .shrink import TINY

TINY_CODES = 16
TINY_CODE_DIM = 8


def tiny_vqkd(teacher: str = 'beit', size: int = 32, num_codes: int = TINY_CODES, **kwargs: Any) -> dict:
    """Config of a VQKD with 2-block 32-d encoder, 1-block decoder and a tiny frozen teacher.

    Args:
        teacher: 'beit' (a tiny beitmm.BEiT, 32-d tokens) or 'clip' (a tiny beitmm.CLIPViT, 24-d).
        size: Image size (patch 16).
        num_codes: Codebook size.
        **kwargs: Other ``beitmm.VQKD`` arguments; they override the ones set here.

    Returns:
        The ``beitmm.VQKD`` config.
    """
    enc = dict(type='beitmm.BEiT', arch=dict(TINY), img_size=size, patch_size=16, out_type='raw',
               use_abs_pos_emb=True, use_rel_pos_bias=False, layer_scale_init_value=0.)
    dec = dict(enc, arch=dict(TINY, num_layers=1), img_size=size // 16, patch_size=1)
    if teacher == 'beit':
        t, dim = dict(enc, out_type='raw'), TINY['embed_dims']
    else:
        t = dict(type='beitmm.CLIPViT', arch=dict(embed_dims=32, num_layers=1, num_heads=2, output_dims=24),
                 patch_size=16, img_size=size)
        dim = 24
    cfg = dict(type='beitmm.VQKD', encoder=enc, decoder=dec, teacher=t, num_codes=num_codes,
               code_dim=TINY_CODE_DIM, teacher_dim=dim)
    cfg.update(kwargs)
    return cfg


def tokenizer_of(vqkd_cfg: dict, checkpoint: Optional[str]) -> dict:
    """The target-generator config of a trained tiny VQKD (tokenizer mode, no decoder / teacher)."""
    cfg = copy.deepcopy(vqkd_cfg)
    cfg.update(as_tokenizer=True, checkpoint=checkpoint, decoder=None, teacher=None)
    return cfg


def tiny_teacher(teacher: dict, size: int) -> tuple:
    """Shrink a config's teacher (CLIPViT / DINOViT / BEiT) to 32-d, 1 block, no checkpoint; returns (cfg, dim)."""
    kind = teacher['type'].split('.')[-1]
    arch = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)
    if kind == 'CLIPViT':
        return dict(teacher, arch=dict(arch, output_dims=24), img_size=size, checkpoint=None), 24
    return dict(teacher, arch=arch, img_size=size, checkpoint=None), 32


def shrink_vqkd_config(path: str, data_root: str, work_dir: str, size: int = 32, epochs: int = 1,
                       num_codes: int = TINY_CODES, num_images: int = 8) -> Config:
    """A VQ-KD training config shrunk in place.

    Tiny encoder / decoder / teacher (the config's teacher type), the first ``num_images`` images of
    ``data_root``, batch 2.

    Args:
        path: The VQ-KD config file.
        data_root: Folder of training images.
        work_dir: Work directory of the run.
        size: Image size (patch 16).
        epochs: Training epochs.
        num_codes: Codebook size.
        num_images: Number of training images used.

    Returns:
        The shrunk config.
    """
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    m = cfg.model
    m.encoder.update(arch=dict(TINY), img_size=size)
    m.decoder.update(arch=dict(TINY, num_layers=1), img_size=size // 16)
    m.teacher, m.teacher_dim = tiny_teacher(m.teacher.to_dict(), size)
    m.update(num_codes=num_codes, code_dim=TINY_CODE_DIM)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].split('.')[-1] == 'RandomResizedCrop':
            t['scale'] = size
    dl = cfg.train_dataloader
    dl.update(batch_size=2, num_workers=0, persistent_workers=False, pin_memory=False)
    dl.dataset.update(data_root=data_root, data_prefix=dict(img_path=''), indices=num_images)
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=1e-6,
                                convert_to_iter_based=True)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.auto_scale_lr = dict(enable=False)
    return cfg


def shrink_v2_pretrain_config(path: str, data_root: str, work_dir: str, vqkd_cfg: dict, vqkd_ckpt: str,
                              size: int = 64, num_images: int = 8) -> Config:
    """A BEiT v2 pretraining config shrunk for tests.

    2-block student, CLS branch after block 1, tiny trained VQ-KD targets, the first ``num_images`` images.

    Args:
        path: The BEiT v2 pretraining config file.
        data_root: Folder of training images.
        work_dir: Work directory of the run.
        vqkd_cfg: Config of the trained tiny VQ-KD (from :func:`tiny_vqkd`).
        vqkd_ckpt: Checkpoint of that VQ-KD.
        size: Image size of the student and of the VQ-KD view.
        num_images: Number of training images used.

    Returns:
        The shrunk config.
    """
    from .shrink import tiny_pretrain_config
    cfg = tiny_pretrain_config(path, data_root, work_dir, size=size)
    cfg.model.neck.update(arch=dict(TINY), early_layers=1)
    cfg.model.head.out_channels = vqkd_cfg['num_codes']
    cfg.model.target_generator = tokenizer_of(vqkd_cfg, vqkd_ckpt)
    cfg.train_dataloader.dataset.indices = num_images
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'].split('.')[-1] == 'TwoViewRandomResizedCrop':
            t.update(second_size=size)  # VQ-KD sees the same resolution as the student
    return cfg
