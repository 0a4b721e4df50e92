# VQ-KD with a DINO ViT-B/16 teacher (768-d targets, ImageNet normalisation) and a 1-layer decoder, as the
# released vqkd_encoder_base_decoder_1x768x12_dino (100% codebook usage).
_base_ = ['./vqkd_clip-b16_vit-b_in1k.py']
model = dict(
    decoder=dict(arch=dict(num_layers=1)),
    # official DINO ViT-B/16 weights (dino_vitbase16_pretrain.pth)
    teacher=dict(_delete_=True, type='beitmm.DINOViT', arch='base', patch_size=16, img_size=224,
                 checkpoint='pretrain/dino/dino_vitbase16_pretrain.pth'),
    teacher_norm=dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    teacher_dim=768)
