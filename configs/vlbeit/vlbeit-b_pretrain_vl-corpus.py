# VL-BEiT base (Bao et al., 2022, arXiv 2206.01127; unilm vl-beit/ has a README only): PAPER ONLY, no code or
# weights exist, and its
# full text could not be read here (abstract and first page only); every value is beitmm's (choice) unless marked.
# One stage, from scratch: masked image modeling on images, masked language modeling on texts and masked
# vision-language modeling (MVLM) on pairs [abs] through VLMo's backbone (shared attention, V / L experts [3rd-party
# claim: reading notes say it "reuses VLMo"]; VL experts in the top 2 layers, VLMo-B's (choice)) -
# beitmm.MaskedDataModeling, the same algorithm as BEiT-3's, on beitmm.VLBEiT. Visual tokens: the BEiT v2 VQ-KD
# (choice: the paper's tokenizer is not confirmed, see configs/vlbeit/README.md).
_base_ = [
    '../_base_/datasets/vl_pretrain_vlmo.py', '../_base_/models/vqkd_b16_clip_tokenizer.py',
    '../_base_/schedules/vlmo_pretrain_adamw_linear.py', '../_base_/default_runtime.py'
]
model = dict(
    type='beitmm.MaskedDataModeling',
    data_preprocessor=dict(type='beitmm.MultiStreamDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        type='beitmm.VLBEiT',  # VLMo's parameter names: its VL task configs load the checkpoint by copy
        arch='base',
        img_size=224,
        vocab_size=30522,  # BERT uncased WordPiece (choice, VLMo's)
        max_text_len=40,
        rel_pos_text_len=196,
        drop_path_rate=0.1),  # choice (VLMo's)
    mim_head=dict(type='beitmm.MIMHead', in_channels=dict(follows='backbone'), out_channels=8192),
    # MVLM masks the pair's image too (40% of the patches, predicted as visual tokens) beside 50% of its text: the
    # only full-text reading found says so [3rd-party claim: an agent-written literature review], and BEiT-3, which
    # takes its masked data modeling from VL-BEiT, masks image patches of pairs as of images (torchscale BEiT3's
    # image+text branch takes masked vision positions). pair_mim=False: the pair's image is seen whole and only its
    # text is predicted (the text-only reading of MVLM). Neither is confirmed against the PDF (vlbeit/README.md).
    pair_mim=True,
    stream_weights=dict(image=1., text=1., pair=1.))  # choice
# MVLM masks a higher share of the pair's text than MLM: 50% [3rd-party claim; BEiT-3's pair ratio, paper §2.2];
# texts 15% (choice: VLMo's base)
pair_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip', on_missing='skip'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic',
         backend='pillow'),  # (choice) VLMo's pair crop, no flip (it falsifies 'left' / 'right' captions)
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=78, min_num_patches=16,
         exact=True),  # 40% of 196, rounded down (choice); unused with pair_mim=False
    dict(type='beitmm.MaskText', tokenizer={{_base_.text_tokenizer}}, max_len=40, mask_ratio=0.5, whole_word=True),
    dict(type='beitmm.PackPretrainInputs'),
]
train_dataloader = dict(dataset=dict(counts=dict(image=64, text=64, pair=64),  # choice: batch 1024 per stream, 16 GPUs
                                     sources=dict(pair=dict(pipeline=pair_pipeline))))
custom_hooks = [dict(type='beitmm.CheckpointConvertHook'), dict(type='beitmm.CodebookHealthHook', warn_below=0.2)]
# the multi-source step sampler takes its seed from the runner (no epochs): no DistSamplerSeedHook
default_hooks = dict(sampler_seed=None, logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=10_000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False, window_size=50)
