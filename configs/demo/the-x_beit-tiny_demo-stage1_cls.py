# THE-X distillation, stage 1: the approximated student (GELU -> ReLU at the client, THE-X softmax, LayerNorm ->
# learned affine map), calibrated on the first batch (norm input stds, softmax score scales), learns only its
# replacements (the affine norms, the softmax scales and reciprocal networks) by matching every block's output and
# the teacher's logits. The teacher checkpoint comes from
# configs/demo/beit-tiny_demo-the-x_cls.py (--cfg-options model.teacher_checkpoint=PATH).
_base_ = ['./beit-tiny_demo-the-x_cls.py']
model = dict(
    _delete_=True,
    type='beitmm.THEXDistiller',
    teacher={{_base_.model}},
    teacher_checkpoint=None,
    the_x=dict(
        act=dict(type='ReLU'),  # THE-X: the client computes ReLU; or dict(type='beitmm.THEXPolyGELU', degree=2)
        softmax=dict(type='beitmm.THEXSoftmax', input_range=(-2., 3.), sum_range=(1., 128.), hidden=16),  # (choice)
        norm=dict(full=True)),
    hidden_modules=r'backbone\.blocks\.\d+$',
    trainable=r'norm|softmax',
    logit_weight=1.,
    hidden_weight=1.,
    ce_weight=0.,
    temperature=1.,
    calibrate=True)  # affine norms and softmax score scales from the first batch
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.), clip_grad=None)
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=10, eta_min=1e-5,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=10, val_interval=10)  # (choice)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=1))
