# VLMo-B stage 3: image-text pretraining (unilm vlmo/config.py ``task_mlm_itm_itc_base``, objectives.py): ITC on the
# dual-encoder paths plus the second ITC through the VL experts (mean of the two), ITM with one hard negative text
# and image per pair drawn from softmax(ITC similarities) over the batch gathered from all ranks, MLM on the fusion
# path (x 0.25, as compute_mlm). Nothing is frozen. Initialised from the stage-2 checkpoint through model.init_cfg
# (whole model: the MLM head too); its VL experts (mlp_vl / norm2_vl of layers 10-11) are not in it and start from
# the model's random init, as VLMo does (it loads with strict=False and copies neither the language nor the vision
# expert). COCO + VG + SBU + GCC pairs, 40 tokens, batch 1024, lr 2e-4, 200k steps.
# Gathers as VLMo's compute_itc (objectives.py:194-262): the other ranks' features without gradient, the loss over
# the whole gathered batch (gather_grad=False: on W GPUs the contrastive encoder gradient is 1/W of the global
# loss's, the temperatures' full). The MLM head's decoder is its own weight (VLMo's heads.MLMHead, not tied).
_base_ = ['./vlmo-b_pretrain-stage2_text.py']
model = dict(
    backbone=dict(max_text_len=40, vlffn_start=10),
    loss_weights=dict(_delete_=True, itc=1., itm=1., mlm=1.),
    mlm_scale=0.25,
    gather_grad=False,
    trainable=None,
    init_cfg=dict(checkpoint='work_dirs/vlmo-b_pretrain-stage2_text/iter_200000.pth'))
train_dataloader = dict(dataset=dict(counts=dict(image=0, text=0, pair=32)))
