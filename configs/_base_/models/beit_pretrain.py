# BEiT-B masked image modeling (unilm beit/modeling_pretrain.py): shared relative position bias, layer scale
# 0.1, mask token, linear head to the 8192 DALL-E tokens on masked positions, cross-entropy.
model = dict(
    type='beitmm.MaskedImageModeling',
    data_preprocessor=dict(
        type='beitmm.TwoViewDataPreprocessor',
        mean=[127.5, 127.5, 127.5],  # student view in [-1, 1]
        std=[127.5, 127.5, 127.5],
        second_mean=[0., 0., 0.],  # tokenizer view in [0, 1]; the tokenizer applies map_pixels
        second_std=[255., 255., 255.],
        to_rgb=True),
    backbone=dict(
        type='beitmm.BEiT',
        arch='base',
        img_size=224,
        patch_size=16,
        out_type='raw',
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=False,
        use_shared_rel_pos_bias=True,
        use_mask_token=True,
        init_mode='pretrain'),  # unilm modeling_pretrain.py: truncated normal at +-1 std, conv too
    # in_channels: the backbone's width (beitmm.engine.config_fit)
    head=dict(type='beitmm.MIMHead', in_channels=dict(follows='backbone'), out_channels=8192,
              loss=dict(type='beitmm.TokenClassificationLoss')),
    # OpenAI's dVAE (encoder.pkl from the DALL-E release) or mmpretrain's dalle_encoder.pth.
    target_generator=dict(type='beitmm.DALLETokenizer', encoder_checkpoint='pretrain/dall_e/encoder.pkl',
                          with_decoder=False))
