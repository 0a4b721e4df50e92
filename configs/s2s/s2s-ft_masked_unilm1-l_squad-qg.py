# UniLM v1 large (cased) masked fine-tuning for SQuAD question generation (unilm-v1 README): max length 512,
# mask_prob 0.7 with max_pred 48 (masked algorithm: target_mask_prob 0.7, num_max_mask_token 48), batch 64,
# lr 2e-5, 10% warm-up, label smoothing 0.1, 10 epochs (about 11.7k steps on the 75k training questions of the Du
# split); decoding: beam 1, target 48 tokens. Reported: BLEU-4 / METEOR / ROUGE-L 22.78 / 25.49 / 51.57 (Du split).
_base_ = [
    '../_base_/models/s2s-ft_unilm1.2-b.py', '../_base_/datasets/squad_qg_s2s.py',
    '../_base_/schedules/s2s_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1500, max_keep_ckpts=3), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
model = dict(algorithm='masked', target_mask_prob=0.7, num_max_mask_token=48, max_source_len=464, max_target_len=48,
             num_beams=1, no_repeat_ngram_size=0, ngram_ignore_words=(),
             backbone=dict(arch='large', vocab_size=28996,
                           init_cfg=dict(checkpoint='pretrain/unilm1-large-cased.bin')),
             tokenizer=dict(vocab_file='pretrain/unilm1-large-cased-vocab.txt', lowercase=False))
optim_wrapper = dict(optimizer=dict(lr=2e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1170),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=1170, end=11700),
]
train_cfg = dict(max_iters=11700, val_interval=1170)
