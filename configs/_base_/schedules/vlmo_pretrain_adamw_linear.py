# VLMo pretraining optimisation (unilm vlmo/vlmo/config.py + vlmo_utils.set_schedule): AdamW (0.9, 0.98), eps 1e-8,
# weight decay 0.01, linear (polynomial power 1) decay to 0 after warm-up, 200k steps with 2.5k warm-up steps (the
# README's ``step200k``), fp16, batch 1024 (e.g. 32 GPUs x 32: per-rank counts x GPUs, where VLMo accumulates
# gradients up to batch_size, run.py:100-102,143; its ITC / ITM then see the per-step gathered batch). Warm-up from
# 1e-3 x lr (VLMo: 0; mmengine's LinearLR needs a factor > 0). Also VL-BEiT's schedule (configs/vlbeit).
# No weight decay by VLMo's name rules (vlmo_utils.py:222-232): a parameter whose name contains one of these
# substrings; the others are decayed whatever their shape (the merged table, q_bias / v_bias and every bias are
# exempt by 'bias'; norm2_{text,imag,vl}.weight, gamma_1 / gamma_2, cls_token, token types and the logit scales are
# decayed). One layer group (layer_decay_rate 1: VLMo has no layer decay).
vlmo_no_decay_keys = ('bias', 'LayerNorm.bias', 'LayerNorm.weight', 'norm.bias', 'norm.weight', 'norm1.bias',
                      'norm1.weight', 'norm2.bias', 'norm2.weight')
optim_wrapper = dict(
    type='beitmm.AmpOptimWrapper',
    dtype='float16',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, no_decay_names=(), no_decay_1d=False, no_decay_keys=vlmo_no_decay_keys))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2500),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=2500, end=200_000),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=200_000)
