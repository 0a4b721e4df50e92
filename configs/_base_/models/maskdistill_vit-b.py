# MaskDistill ViT-B student + frozen CLIP ViT-B/16 teacher (Peng et al., 2022, "A Unified View of Masked Image
# Modeling"): the BEiT pretraining student (mask token, shared relative position bias, layer scale 0.1); linear
# head to the teacher's dimensions on masked positions; targets = LayerNorm without affine of CLIP's last-layer
# patch features; smooth-L1 loss. MaskDistill is this config of the unified algorithm.
# The official code is TMLR supplementary material (OpenReview wmGlMhaBe0), not public on GitHub. Three values could
# not be checked against it or the paper's appendix (maskdistill/README.md) and are CHOICES, each one config key away
# (configs/maskdistill/README.md; a fourth, the teacher size for a ViT-B student, is listed there):
#   - teacher layer: after ln_post and proj (512-d, as BEiT v2's CLIP teacher for VQ-KD); the public port that
#     reaches 84.8 (drkostas/MaskDistill-PyTorch) takes the last block before ln_post (768-d):
#     teacher.with_ln_post=False, teacher.with_proj=False, head.out_channels=768 (maskdistill_clip-b16-768d_*.py);
#   - smooth-L1 beta 1.0 (that port: 1.0; bwconrad/masked-distillation: 2.0);
#   - colour jitter: none (that port and BEiT v2's pipeline: 0.4; see _base_/datasets/imagenet_bs256_maskdistill.py).
_base_ = ['./beit_pretrain.py']
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],  # student view: ImageNet mean / std
        std=[58.395, 57.12, 57.375],
        second_mean=[122.7709383, 116.7460125, 104.09373615],  # teacher view: CLIP's mean / std
        second_std=[68.5005327, 66.6321579, 70.32316305]),
    head=dict(out_channels=512, loss=dict(_delete_=True, type='beitmm.FeatureRegressionLoss', kind='smooth_l1',
                                          beta=1.0)),  # beta: a choice (see above)
    # OpenAI's ViT-B-16.pt (TorchScript archive, read without running its code) or any CLIP state dict.
    target_generator=dict(
        _delete_=True,
        type='beitmm.FeatureTarget',
        teacher=dict(type='beitmm.CLIPViT', arch='base', patch_size=16, img_size=224,
                     with_ln_post=True, with_proj=True,  # teacher layer: a choice (see above)
                     checkpoint='pretrain/clip/ViT-B-16.pt'),
        normalize='layernorm',
        student_patch_size=16))
