# BEiT-3 base fine-tuned for COCO captioning (unilm beit3/get_started/get_started_for_captioning.md): the
# bidirectional encoder as a generator (image tokens see the image; caption tokens see the image and the earlier
# caption; 70% of caption tokens masked 80/10/10 and predicted with label smoothing 0.1), 480 px, 32 text tokens,
# 10 epochs (1 warm-up), AdamW lr 4e-5, weight decay 0.05, layer decay 1.0, drop path 0.1, total batch 256 (8 x 32),
# RandAugment; beam search (3 beams, length penalty 0.6) over a per-layer key/value cache. The worst 20% of the
# token losses of a batch are left out once the iteration count exceeds 12000 (unilm run_beit3_finetuning.py:186-187
# defaults, passed by both documented commands, get_started_for_captioning.md:90,127; engine_for_finetuning.py:245,
# utils.py:783). Decoding: at most 32 tokens in training-time validation (the training --num_max_bpe_tokens 32),
# 64 in tools/test.py and the inference API (test_max_text_len: the documented evaluation of the released
# checkpoints passes no --num_max_bpe_tokens, so the default 64 applies, get_started_for_captioning.md:144-172,
# run_beit3_finetuning.py:52). Reported: CIDEr 133.6 on the Karpathy test split
# (beit3_base_patch16_480_coco_captioning; unilm scores it against BLIP's coco_karpathy_test_gt.json).
_base_ = [
    '../_base_/models/beit3-b_vl.py', '../_base_/datasets/coco_caption.py',
    '../_base_/schedules/vl_finetune_adamw_cosine.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(
    type='beitmm.BEiT3Captioner',
    max_text_len=32,  # --num_max_bpe_tokens 32 (get_started_for_captioning.md:88)
    test_max_text_len=64,  # evaluation of the released checkpoints: the default 64 (run_beit3_finetuning.py:52)
    mask_prob=0.7,  # --captioning_mask_prob 0.7 (get_started_for_captioning.md:89)
    label_smoothing=0.1,  # run_beit3_finetuning.py:192
    drop_worst_ratio=0.2,  # run_beit3_finetuning.py:186
    drop_worst_after=12000,  # --drop_worst_after 12000 (get_started_for_captioning.md:90)
    num_beams=3,  # run_beit3_finetuning.py:188
    length_penalty=0.6,  # run_beit3_finetuning.py:189
    backbone=dict(img_size=480, normalize_output=True, drop_path_rate=0.1))
optim_wrapper = dict(optimizer=dict(lr=4e-5, weight_decay=0.05), paramwise_cfg=dict(layer_decay_rate=1.0))
train_cfg = dict(max_epochs=10)
default_hooks = dict(checkpoint=dict(save_best='caption/CIDEr', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=256)
