# BEiT v2-B masked image modeling (unilm beit2/modeling_pretrain.py beit_base_patch16_224_8k_vocab_cls_pt): the
# BEiT pretraining student (shared relative position bias, layer scale 0.1, mask token); targets = the 8192 VQ-KD
# code ids of the same 224 px crop; CLS-pretraining branch = 2 blocks over [final cls ; patch tokens after
# block 9] through the shared final norm and the shared LM head; loss = CE(final) + CE(branch) on masked positions.
_base_ = ['./beit_pretrain.py']
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],  # student view: ImageNet mean / std (--imagenet_default_mean_and_std)
        std=[58.395, 57.12, 57.375],
        second_mean=[127.5, 127.5, 127.5],  # tokenizer view in [-1, 1] (VQ-KD process_type='default')
        second_std=[127.5, 127.5, 127.5]),
    neck=dict(type='beitmm.BEiTV2Neck', arch='base', num_layers=2, early_layers=9, drop_path_rate=0.1,
              layer_scale_init_value=0.1),
    # A VQ-KD trained with configs/beitv2/vqkd_clip-b16_vit-b_in1k.py (its epoch_100.pth as is) or the official
    # vqkd_encoder_base_decoder_3x768x12_clip-d5036aa7.pth: both layouts load directly.
    target_generator=dict(
        _delete_=True,
        type='beitmm.VQKD',
        as_tokenizer=True,
        checkpoint='pretrain/vqkd/vqkd_encoder_base_decoder_3x768x12_clip-d5036aa7.pth',
        encoder=dict(type='beitmm.BEiT', arch='base', img_size=224, patch_size=16, out_type='raw',
                     layer_scale_init_value=0., use_abs_pos_emb=True, use_rel_pos_bias=False),
        num_codes=8192,
        code_dim=32))
