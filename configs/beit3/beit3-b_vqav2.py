# BEiT-3 base fine-tuned on VQAv2 (unilm beit3/get_started/get_started_for_vqav2.md): 480 px, 10 epochs (1 warm-up),
# AdamW lr 3e-5, betas (0.9, 0.98), weight decay 0.01, layer decay 1.0, drop path 0.1, head lr x20 (``head.*``
# only; the pooler is not included), total batch 128 (8 GPUs x 16), RandAugment, BCE x 3129 on ViLT soft scores,
# cosine to min_lr 1e-6. Reported: 77.65 test-dev (beit3_base_patch16_480_vqa; 78.46 from the -indomain checkpoint).
# Official fine-tuned weights evaluate as they are: tools/test.py CONFIG beit3_base_patch16_480_vqa.pth.
_base_ = [
    '../_base_/models/beit3-b_vl.py', '../_base_/datasets/vqav2.py',
    '../_base_/schedules/vl_finetune_adamw_cosine.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(
    type='beitmm.VQAClassifier',
    num_labels=3129,
    max_text_len=64,
    backbone=dict(img_size=480, normalize_output=False, drop_path_rate=0.1))  # unilm: no final norm for VQA
optim_wrapper = dict(
    optimizer=dict(lr=3e-5, betas=(0.9, 0.98), weight_decay=0.01),
    paramwise_cfg=dict(layer_decay_rate=1.0, custom_keys={'head.': dict(lr_mult=20.)}))
train_cfg = dict(max_epochs=10)
default_hooks = dict(checkpoint=dict(save_best='vqa/accuracy', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=128)  # 8 GPUs x 16; --auto-scale-lr for other totals
