# VLMo fine-tuning schedule (vlmo/config.py, vlmo/modules/vlmo_utils.py set_schedule): AdamW (0.9, 0.98), eps 1e-8,
# weight decay 0.01, linear warm-up then polynomial decay (power 1) to 0, no layer decay; each task sets lr, epochs
# and the warm-up fraction. No weight decay by VLMo's name rules (vlmo_utils.py:222-232, as the pretraining
# schedule): names containing one of these substrings; the others (norm2_*.weight, gammas, cls_token, token types,
# logit_scale, the classifiers' LayerNorm weights vqa_classifier.1.weight ...) are decayed.
vlmo_no_decay_keys = ('bias', 'LayerNorm.bias', 'LayerNorm.weight', 'norm.bias', 'norm.weight', 'norm1.bias',
                      'norm1.weight', 'norm2.bias', 'norm2.weight')
# Differences (choices): fp32, where VLMo trains with precision=16 (vlmo/config.py:82; `tools/train.py --amp` for
# mixed precision); the warm-up starts at 1e-3 x lr (mmengine's LinearLR needs a factor > 0), VLMo's at 0; the total
# batch is the per-rank batch x GPUs, where VLMo accumulates gradients up to batch_size (run.py:100-102,143): set the
# per-rank batch (or optim_wrapper.accumulative_counts) for another GPU count. With VLMo's accumulation the
# retrieval contrastive loss sees the per-step gathered batch; here it sees the whole batch.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01),
    constructor='beitmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, no_decay_names=(), no_decay_1d=False, no_decay_keys=vlmo_no_decay_keys))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(type='beitmm.ResumableEpochBasedTrainLoop', max_epochs=10, val_interval=1)
