# BEiT-3 large on VQAv2: as base with lr 2e-5 and drop path 0.15 (unilm get_started_for_vqav2.md).
# Reported: 81.85 test-dev (beit3_large_patch16_480_vqa; 82.53 from -indomain).
_base_ = ['./beit3-b_vqav2.py']
model = dict(backbone=dict(arch='large', drop_path_rate=0.15,
                           init_cfg=dict(checkpoint='pretrain/beit3_large_patch16_224.pth')))
optim_wrapper = dict(optimizer=dict(lr=2e-5))
