# MaskDistill ViT-L/16 with a frozen CLIP ViT-L/14 teacher (768-d). The teacher sees the crop resized to 196 px so
# its 14x14 patches align with the student's 14x14 grid at 224 px. Layer scale 1e-5 as BEiT-L.
_base_ = ['./maskdistill_clip-b16_vit-b_300e_in1k.py']
model = dict(
    backbone=dict(arch='large', layer_scale_init_value=1e-5),
    head=dict(out_channels=768),  # in_channels follows the backbone
    target_generator=dict(
        teacher=dict(arch='large', patch_size=14, img_size=224, checkpoint='pretrain/clip/ViT-L-14.pt'),
        teacher_img_size=196))
