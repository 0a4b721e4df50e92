# THE-X distillation, stage 2: every student weight trains on logits KL + hidden-state matching, starting from
# stage 1 (--cfg-options load_from=STAGE1_CHECKPOINT; the teacher rides along in the checkpoint).
_base_ = ['./the-x_beit-tiny_demo-stage1_cls.py']
model = dict(trainable=None)
optim_wrapper = dict(optimizer=dict(lr=5e-4, weight_decay=0.05))  # (choice)
