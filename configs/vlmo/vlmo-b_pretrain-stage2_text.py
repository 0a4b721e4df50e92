# VLMo-B stage 2: text-only masked language modeling (unilm vlmo/config.py ``task_textmlm_base``, run.py:153-163).
# Stage 1 is a BEiT checkpoint: beitmm's own BEiT pretraining (configs/beit/beit-b_pretrain_in22k.py, its
# work_dirs/.../iter_*.pth or epoch_*.pth as is) or the official beit_base_patch16_224_pt22k_ft22kto1k.pth the VLMo
# README starts from. It is loaded by model.init_cfg through the 'vlmo' converter (BEiT mlp / norm2 -> the vision
# expert mlp_imag / norm2_imag, the per-layer tables -> the image rows of the merged table): no offline conversion.
# The final transformer.norm takes a per-token final norm (BEiT pretraining files) but not the mean-pooling fc_norm
# of fine-tuned files such as the README's: VLMo's convert_to_textpt_ckpt leaves it at its init (LayerNorm 1 / 0).
# Frozen as VLMo's run.py: everything except text_embeddings, token_type_embeddings, mlp_text, norm2_text, the MLM
# head, the merged relative position table and the final transformer.norm; i.e. the attention, norm1, gamma_1 /
# gamma_2, the vision experts, the patch embedding and the cls token (logged at start). A checkpoint without the
# vision experts stops with an error naming them.
_base_ = [
    '../_base_/datasets/vl_pretrain_vlmo.py', '../_base_/schedules/vlmo_pretrain_adamw_linear.py',
    '../_base_/default_runtime.py'
]
model = dict(
    type='beitmm.VLMoPretraining',
    data_preprocessor=dict(type='beitmm.MultiStreamDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        type='beitmm.VLMo',
        arch='base',
        img_size=224,
        vocab_size=30522,
        max_text_len=196,
        rel_pos_text_len=196,
        vlffn_start=12,  # textmlm: no VL expert (VLMo sets vlffn_start_layer_index to the depth)
        drop_path_rate=0.1),
    loss_weights=dict(textmlm=1.),
    trainable=('text_embeddings', 'token_type_embeddings', 'mlp_text', 'norm2_text', 'mlm_score',
               'relative_position_bias_table', 'transformer.norm'),
    init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit/beit_base_patch16_224_pt22k_ft22kto1k.pth'))
# WikiBooks texts of up to 196 tokens, 15% whole-word masking, batch 1024 (32 per rank on 32 GPUs: choice)
train_dataloader = dict(dataset=dict(counts=dict(image=0, text=32, pair=0)))
# the multi-source step sampler takes its seed from the runner (no epochs): no DistSamplerSeedHook
default_hooks = dict(sampler_seed=None, logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=10_000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False, window_size=50)
