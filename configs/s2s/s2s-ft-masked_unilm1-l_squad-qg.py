# UniLM v1 large (cased) masked fine-tuning for SQuAD question generation, as unilm-v1 README.md:254-271 runs
# biunilm/run_seq2seq.py: --new_segment_ids (type_vocab_size 6, run_seq2seq.py:309-310; s2s segments: source 4,
# target 5, seq2seq_loader.py:168-169,367-368), --tokenized_input, max length 512, --mask_prob 0.7 --max_pred 48
# (masked algorithm: target_mask_prob 0.7, num_max_mask_token 48), --train_batch_size 32 with
# --gradient_accumulation_steps 2 (32 pairs per optimizer step, run_seq2seq.py:249-250), lr 2e-5, 10% linear
# warm-up then linear decay to 0 (warmup_linear, pytorch_pretrained_bert/optimization.py:41-44), label smoothing
# 0.1, 10 epochs: t_total = ceil(N / 16) * 10 / 2 (run_seq2seq.py:296-298) = 23,665 steps for N = 75,722 training
# pairs [recalled - verify: the Du split size given by later papers, not by unilm-v1; count your
# train.pa.tok.txt lines and rescale]. Decoding (README.md:276-281): beam 1, target 48 tokens, length penalty 0.
# Reported: BLEU-4 / METEOR / ROUGE-L 22.78 / 25.49 / 51.57 (README.md:240; qg/eval_on_unilm_tokenized_ref.py).
# Known differences (choices): the masked count is s2s-ft v1's min(48, int(0.7 m)) over the target tokens with
# [SEP] (unilm-v1: round(0.7 * tokens before [SEP]), seq2seq_loader.py:180-181); sources are cut to 464 tokens and
# targets to 48 as s2s-ft does (unilm-v1 cuts the longer side of the pair, head or tail at random, to 509 in all).
_base_ = [
    '../_base_/models/s2s-ft_unilm1.2-b.py', '../_base_/datasets/squad_qg_s2s.py',
    '../_base_/schedules/s2s_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1500, max_keep_ckpts=3), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
model = dict(algorithm='masked', target_mask_prob=0.7, num_max_mask_token=48, max_source_len=464, max_target_len=48,
             num_beams=1, no_repeat_ngram_size=0, ngram_ignore_words=(), source_type_id=4, target_type_id=5,
             backbone=dict(arch='large', vocab_size=28996, type_vocab_size=6,
                           init_cfg=dict(checkpoint='pretrain/unilm1-large-cased.bin')),
             tokenizer=dict(vocab_file='pretrain/unilm1-large-cased-vocab.txt', lowercase=False))
train_dataloader = dict(batch_size=8)  # 4 GPUs x 8 = 32 pairs a step (README: 4 GPUs, 32 per step)
auto_scale_lr = dict(base_batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=2e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2367),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=2367, end=23665),
]
train_cfg = dict(max_iters=23665, val_interval=2367)
