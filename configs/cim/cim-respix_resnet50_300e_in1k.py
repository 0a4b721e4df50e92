# CIM-ResPix with a ResNet-50 enhancer (mmpretrain's ResNet; its keys load into mmpretrain's ImageNet ResNet-50
# configs, see resnet50_cim-pt-rsb-a2-300e_in1k.py). Paper: 80.6 top-1 after fine-tuning.
# The enhancer's last stage (stride 32, 2048 channels) predicts each 32 x 32 pixel block (1x1 conv + pixel shuffle).
_base_ = ['./cim-respix_vit-b_300e_in1k.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        norm_cfg=dict(type='SyncBN', requires_grad=True)),  # plain BN when not distributed (mmengine)
    enhancer_mean=(0.485, 0.456, 0.406),  # ImageNet statistics, as mmpretrain's ResNet-50 fine-tuning expects
    enhancer_std=(0.229, 0.224, 0.225),
    head=dict(in_channels=2048, encoder_stride=32))
# ResNet has no layer ids: plain AdamW groups, no weight decay on biases and norms (BN, LayerNorm) nor on the
# generator's tokens, relative position table, q / v biases and layer-scale gammas.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(
        norm_decay_mult=0., bias_decay_mult=0.,
        custom_keys={
            '.cls_token': dict(decay_mult=0.), '.mask_token': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.), '.gamma_': dict(decay_mult=0.),
            '.q_bias': dict(decay_mult=0.), '.v_bias': dict(decay_mult=0.)
        }))
