# s2s-ft pseudo-masked fine-tuning of UniLM v2 base uncased on XSum: the s2s-ft README recipe "XSum with
# unilm2-base-uncased" (--model_type unilm; 4 GPUs x 8 x 2 accumulation = batch 64): source 720 / target 48 tokens,
# lr 7e-5, 1000 warm-up of 48k steps, target_mask_prob 0.4, checkpoints every 1500 steps; decoding: beam 8, length
# penalty 0.9, min length 1, forbid duplicate 3-grams ignoring ".", batch 24. Positions to 720 + 48 = 768
# (run_seq2seq.py: max_position_embeddings = source + target, the 512 pretrained rows tiled). No number is given.
# The README's decode MAX_LEN=$(($SRC_LEN+$TGT_LEN)) names unset variables (a bash error as written); 720 + 48 is
# the evident intent: decoding keeps max_seq_length - 2 - 48 = 718 source tokens + [CLS] / [SEP] = max_source_len.
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(
    max_source_len=720,
    max_target_len=48,
    target_mask_prob=0.4,  # --target_mask_prob 0.4 (README: 0.4-0.5 for XSum)
    num_beams=8,
    length_penalty=0.9,
    min_len=1,
    # UniLM v2's relative position bias (s2s-ft BertModel.rel_pos_bias). rel_pos_bins 32 / max_rel_pos 128 are a
    # beitmm choice, unverified: unilm2-base-uncased-config.json is download-only; they are the values of the unilm
    # family's LayoutLMv2 (UniLMv2-based); a checkpoint with other bins is refused naming the setting.
    backbone=dict(max_position_embeddings=768, rel_pos_bins=32, max_rel_pos=128,
                  init_cfg=dict(checkpoint='pretrain/unilm2-base-uncased.bin')),
    tokenizer=dict(vocab_file='pretrain/unilm2-base-uncased-vocab.txt'))
train_dataloader = dict(batch_size=8)  # --per_gpu_train_batch_size 8 on 4 GPUs
test_dataloader = dict(batch_size=24)  # decode_seq2seq.py --batch_size 24
# --gradient_accumulation_steps 2: s2s-ft counts optimizer steps, mmengine iterations (2 per step): all doubled
optim_wrapper = dict(accumulative_counts=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2000),  # 1000 warm-up steps
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=2000, end=96000),  # 48k steps
]
train_cfg = dict(max_iters=96000, val_interval=8000)  # validation every 4k steps: a beitmm choice, as unilm1.2
default_hooks = dict(checkpoint=dict(interval=3000))  # --save_steps 1500
