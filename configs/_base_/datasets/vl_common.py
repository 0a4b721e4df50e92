# Shared by the vision-language datasets: BEiT-3 / VLMo normalise with mean = std = 0.5 (multimodal.md §0.5; not
# mmpretrain's CLIP statistics), images loaded BGR and flipped to RGB in the preprocessor.
data_preprocessor = dict(type='mmpretrain.MultiModalDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                         to_rgb=True)
bgr_mean = [127.5, 127.5, 127.5]
# the loaders use default_collate (images stacked to [B, 3, H, W]; NLVR2 pairs to [B, 2, 3, H, W]), as mmpretrain's
# multimodal configs do: MultiModalDataPreprocessor reads a list of images as views, not as samples
# unilm's RandomAugment(2, 7) (BLIP's op list) as mmpretrain's RandAugment: 2 ops at magnitude 7 of 10 (a beitmm
# choice: the two implementations' op lists and magnitude scales are not the same)
train_pipeline_randaug = dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
                              magnitude_level=7,
                              hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic'))
