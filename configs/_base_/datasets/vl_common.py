# Shared by the vision-language datasets: BEiT-3 / VLMo normalise with mean = std = 0.5 (beit3/datasets.py
# build_transform, vlmo/transforms/utils.py inception_normalize; not
# mmpretrain's CLIP statistics), images loaded BGR and flipped to RGB in the preprocessor.
data_preprocessor = dict(type='mmpretrain.MultiModalDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                         to_rgb=True)
# the loaders use default_collate (images stacked to [B, 3, H, W]; NLVR2 pairs to [B, 2, 3, H, W]), as mmpretrain's
# multimodal configs do: MultiModalDataPreprocessor reads a list of images as views, not as samples
# unilm's RandomAugment(2, 7) over BLIP's 10 ops (Identity, AutoContrast, Equalize, Brightness, Sharpness, ShearX / Y,
# TranslateX / Y, Rotate; grey fill), passed with --randaug by the VQAv2 and captioning commands only (unilm
# beit3/datasets.py:748-754, get_started_for_vqav2.md:57, get_started_for_captioning.md:76). VLMo's fine-tuning
# uses the same call (vlmo/transforms/square_transform.py:21-31). Used by the VQAv2 and captioning pipelines.
train_pipeline_randaug = dict(type='beitmm.BLIPRandomAugment', num_ops=2, magnitude=7)
