# CIM (Fang et al., ICLR 2023): a small trainable BEiT generator corrupts the image through the DALL-E dVAE,
# a ViT-B enhancer learns from the corrupted image only. Only the enhancer (`backbone.`) is kept for fine-tuning.
model = dict(
    type='beitmm.CIM',
    data_preprocessor=dict(
        type='beitmm.TwoViewDataPreprocessor',
        mean=[127.5, 127.5, 127.5],  # generator view in [-1, 1] (BEiT)
        std=[127.5, 127.5, 127.5],
        second_mean=[0., 0., 0.],  # tokenizer view in [0, 1]; the tokenizer applies map_pixels
        second_std=[255., 255., 255.],
        to_rgb=True),
    # Generator: "a small trainable BEiT" [paper, abstract], fed the blockwise-masked view, trained with BEiT's masked
    # token prediction. Its size is in the paper's Tables 13-15, which could not be read (configs/cim/README.md):
    # a third of ViT-B's width (768 / 3 = 256, 4 heads of 64) at ViT-B's depth 12 is our choice (ELECTRA-style).
    generator=dict(
        type='beitmm.BEiT',
        arch=dict(embed_dims=256, num_layers=12, num_heads=4, feedforward_channels=1024),
        img_size=224,
        patch_size=16,
        out_type='raw',
        drop_path_rate=0.,
        layer_scale_init_value=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=False,
        use_shared_rel_pos_bias=True,
        use_mask_token=True,
        init_mode='pretrain'),  # trained from scratch: BEiT's pretraining init
    generator_head=dict(type='beitmm.MIMHead', in_channels=dict(follows='generator'), out_channels=8192,
                        loss=dict(type='beitmm.TokenClassificationLoss', loss_weight=1.0)),
    # Frozen DALL-E dVAE: the encoder gives the generator's targets, the decoder draws the corrupted image from
    # the ids (original ids at visible patches, sampled ids at masked ones). Never saved in checkpoints.
    tokenizer=dict(type='beitmm.DALLETokenizer', encoder_checkpoint='pretrain/dall_e/encoder.pkl',
                   decoder_checkpoint='pretrain/dall_e/decoder.pkl', with_decoder=True),
    # Softmax temperature of the generator's sampling; 1.0 samples the plain output distribution (ELECTRA).
    # Our choice: the paper's value (Tables 13-15) could not be read.
    temperature=1.0,
    # Enhancer: BEiT-B in the BEiT pretraining layout (shared relative position bias, layer scale 0.1,
    # drop path 0.1) but without mask token: it only ever sees real (corrupted) images.
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
        use_mask_token=False,
        init_mode='pretrain'),  # trained from scratch: BEiT's pretraining init
    enhancer_mean=(0.5, 0.5, 0.5),  # enhancer input normalisation on the [0, 1] scale (BEiT: 0.5 / 0.5)
    enhancer_std=(0.5, 0.5, 0.5),
    # ResPix: every original pixel [paper, abstract], normalised in a sliding 9x9 window, MSE over all pixels
    # (normalisation, window size and loss are our choice: the paper's text and Tables 13-15 could not be read).
    head=dict(type='beitmm.CIMResPixHead', in_channels=dict(follows='backbone'), encoder_stride=16, window_size=9,
              loss='mse', loss_weight=1.0))
