# s2s-ft pseudo-masked fine-tuning of MiniLM-L12-H384 uncased on XSum (s2s-ft README): lr 1e-4, 500 warm-up of
# 108k steps, source 464 / target 48, batch 64; decoding as unilm1.2. Reported (minilm/README.md): ROUGE-1/2/L
# 40.43 / 17.72 / 32.60.
_base_ = ['./s2s-ft_pseudo-masked_unilm1.2-b_xsum.py']
model = dict(backbone=dict(arch='minilm-l12-h384',
                           init_cfg=dict(checkpoint='pretrain/minilm-l12-h384-uncased.bin')),
             tokenizer=dict(vocab_file='pretrain/minilm-l12-h384-uncased-vocab.txt'))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=500, end=108000),
]
train_cfg = dict(max_iters=108000, val_interval=12000)
