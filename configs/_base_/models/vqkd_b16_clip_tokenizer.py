# The BEiT v2 VQ-KD tokenizer as a frozen target generator (encoder + task layer + 8192 x 32 codebook; unilm
# beit2/TOKENIZER.md vqkd_encoder_base_decoder_3x768x12_clip, CLIP-B/16 teacher). A VQ-KD trained with
# configs/beitv2/vqkd_clip-b16_vit-b_in1k.py (its epoch_100.pth as is) or the official file: both layouts load directly.
model = dict(target_generator=dict(
    type='beitmm.VQKD',
    as_tokenizer=True,
    checkpoint='pretrain/vqkd/vqkd_encoder_base_decoder_3x768x12_clip-d5036aa7.pth',
    encoder=dict(type='beitmm.BEiT', arch='base', img_size=224, patch_size=16, out_type='raw',
                 layer_scale_init_value=0., use_abs_pos_emb=True, use_rel_pos_bias=False),
    num_codes=8192,
    code_dim=32))
