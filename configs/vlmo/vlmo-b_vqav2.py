# VLMo base fine-tuned on VQAv2 (vlmo/config.py task_finetune_vqa_base_image480): 480 px, total batch 128, 10 epochs
# with 10% warm-up then linear decay to 0, AdamW lr 3e-5 (0.9, 0.98), weight decay 0.01, drop path 0.15, head lr x20
# (lr_mult on vqa_classifier), RandAugment, BCE x 3129 on ViLT soft scores; the pooler reads the text [CLS] and
# starts from the pretrained file's, vqa_classifier from its init (../_base_/models/vlmo-b_vl.py).
# Reported: 76.6 test-dev (vlmo/README.md).
_base_ = [
    '../_base_/models/vlmo-b_vl.py', '../_base_/datasets/vqav2.py',
    '../_base_/schedules/vlmo_finetune_adamw_linear.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
model = dict(type='beitmm.VQAClassifier', num_labels=3129, backbone=dict(img_size=480, drop_path_rate=0.15))
optim_wrapper = dict(optimizer=dict(lr=3e-5), paramwise_cfg=dict(custom_keys={'vqa_classifier.': dict(lr_mult=20.)}))
train_dataloader = dict(batch_size=16)  # 8 GPUs x 16 = 128
train_cfg = dict(max_epochs=10)
default_hooks = dict(checkpoint=dict(save_best='vqa/accuracy', rule='greater'))
auto_scale_lr = dict(enable=False, base_batch_size=128)
