# s2s-ft pseudo-masked fine-tuning of UniLM v1.2 base on CNN / DailyMail (s2s-ft README): source 608 / target 160
# tokens, lr 7e-5, 1000 warm-up of 45k steps, batch 64; decoding: beam 5, length penalty 0, min length 48, forbid
# duplicate 3-grams ignoring ".", max length 768 (positions tiled to 768). s2s-ft reports no ROUGE for this pair;
# UniLM v1 large: 43.08 / 20.43 / 40.34 (unilm-v1 README).
_base_ = [
    '../_base_/models/s2s-ft_unilm1.2-b.py', '../_base_/datasets/cnndm_s2s.py',
    '../_base_/schedules/s2s_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1500, max_keep_ckpts=3), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
model = dict(max_source_len=608, max_target_len=160, min_len=48, backbone=dict(max_position_embeddings=768))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=1000, end=45000),
]
train_cfg = dict(max_iters=45000, val_interval=5000)
