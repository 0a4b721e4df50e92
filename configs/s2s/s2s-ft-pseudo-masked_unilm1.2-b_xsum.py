# s2s-ft pseudo-masked fine-tuning (the default, v2) of UniLM v1.2 base on XSum: the s2s-ft README recipe
# (4 GPUs, batch 64): source 464 / target 48 tokens, lr 7e-5, 500 warm-up of 32k steps, label smoothing 0.1;
# decoding: beam 5, length penalty 0, forbid duplicate 3-grams ignoring ".", max length 512.
# s2s-ft reports no ROUGE for this pair (its README gives the command only); MiniLM's config has official numbers.
_base_ = [
    '../_base_/models/s2s-ft_unilm1.2-b.py', '../_base_/datasets/xsum_s2s.py',
    '../_base_/schedules/s2s_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1500, max_keep_ckpts=3), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
