# THE-X distillation of the text classifier on VLMo's text branch: GELU -> ReLU, THE-X softmax with the padding mask
# applied multiplicatively, LayerNorm -> affine, the pooler's tanh -> ReLU (choice); logits KL + every MoME block's
# output, all weights in one stage (choice). --cfg-options model.teacher_checkpoint=PATH (from
# configs/demo/vlmo-tiny_demo-the-x_text-cls.py) and the same data_root / vocab_file as the teacher run.
_base_ = ['./vlmo-tiny_demo-the-x_text-cls.py']
model = dict(
    _delete_=True,
    type='beitmm.THEXDistiller',
    teacher={{_base_.model}},
    teacher_checkpoint=None,
    the_x=dict(act=dict(type='ReLU'), softmax=dict(type='beitmm.THEXSoftmax', sum_range=(1., 128.)),
               norm=dict(full=True), tanh=dict(type='ReLU')),
    hidden_modules=r'backbone\.transformer\.blocks\.\d+$',
    trainable=None,
    logit_weight=1.,
    hidden_weight=1.)
