# BEiT-B intermediate fine-tuning on ImageNet-22k (unilm beit/README.md "Example: Fine-tuning BEiT on ImageNet-22k":
# 16 GPUs x 256 = 4096, lr 3e-3, 90 epochs / 5 warm-up, layer decay 0.65, drop path 0.2, weight decay 0.05, gradient
# clip 3.0, layer scale 0.1, from beit_base_patch16_224_pt22k.pth; no mixup / cutmix (run_class_finetuning.py's
# defaults); --disable_eval_during_finetuning). unilm released its result as beit_base_patch16_224_pt22k_ft22k.pth,
# the starting point of beit-b_ft22k_in1k.py; no accuracy is published for the 22k stage itself.
# Data: ImageNet-22k (fall11 release, 21,841 classes) in unilm's image_folder layout, <data_root>/<wnid>/<image>,
# labelled by the sorted wnid folders; no validation or test set, as unilm's run.
_base_ = ['./beit-b_in1k.py']
num_classes = 21841
model = dict(
    backbone=dict(drop_path_rate=0.2),
    head=dict(num_classes=num_classes),
    train_cfg=dict(_delete_=True))  # no mixup / cutmix
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    batch_size=256,  # total batch 4096 on 16 GPUs
    dataset=dict(data_root='data/imagenet22k', split='', data_prefix=''))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=3e-3), clip_grad=dict(max_norm=3.0), paramwise_cfg=dict(layer_decay_rate=0.65))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='beitmm.CosineAnnealingLR', by_epoch=True, begin=5, end=90, min_lr=1e-6,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=90)
auto_scale_lr = dict(base_batch_size=4096)
