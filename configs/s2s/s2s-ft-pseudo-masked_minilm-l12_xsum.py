# s2s-ft pseudo-masked fine-tuning of MiniLM-L12-H384 uncased on XSum (minilm/README.md "run fine-tuning on XSum":
# --model_type bert, the NLG vocabulary minilm-l12-h384-uncased-vocab-nlg.txt for training and decoding, lr 1e-4,
# 500 warm-up of 108k steps, source 464 / target 48, 4 GPUs x 16); decoding as unilm1.2 (beam 5, lp 0, 3-gram ban
# ignoring "."). Reported (minilm/README.md): ROUGE-1/2/L 40.43 / 17.72 / 32.60.
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(backbone=dict(arch='minilm-l12-h384',
                           init_cfg=dict(checkpoint='pretrain/minilm-l12-h384-uncased.bin')),
             tokenizer=dict(vocab_file='pretrain/minilm-l12-h384-uncased-vocab-nlg.txt'))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=500, end=108000),
]
train_cfg = dict(max_iters=108000, val_interval=12000)
