# BEiT-3 masked data modeling data (from the paper, §2.2 and Table 11; no official code exists): every step holds
# images (40% of patches masked blockwise [paper, §2.2]), texts (15% of the tokens masked [paper, §2.2]) and
# image-text pairs (50% of the text tokens [paper, §2.2]; 40% of the patches too (interpretation): the paper gives
# 40% "for images" and does not say whether a pair's image is masked, torchscale's BEiT3 takes masked vision
# positions in its image+text branch as in its image branch). The paper's batch is 2048 + 2048 + 2048 per step over
# all GPUs [paper, Table 11]; `counts` are per rank (e.g. 128 each on 16 GPUs). Targets (VQ-KD tokens, SentencePiece
# ids) are made by the model.
# Layout: data/pretrain/{images/, texts.txt, pairs.jsonl, pair_images/} (beitmm.testing.synthetic_pretrain writes it;
# swap the pair source for beitmm.WebDatasetPairs(shards='data/pretrain/shards/pairs-{000000..000099}.tar') at scale).
data_root = 'data/pretrain'
text_tokenizer = dict(type='beitmm.SentencePieceTokenizer', model_file='data/beit3/beit3.spm')
max_text_len = 64  # (choice) BEiT-3's fine-tuning length; the paper does not give the pretraining one
# [paper, §2.2] 40% blockwise "as in BEiT"; BEiT's own "about 40%" is 75 of 196 in its code (unilm
# beit/run_beit_pretraining.py --num_mask_patches 75, beit/masking_generator.py MaskingGenerator); the
# masks below draw exactly 75 (exact=True: BEiT v2's law, unilm beit2/masking_generator.py) (choice)
num_masking_patches = 75
# Images: "the same image augmentation as in BEiT" [paper, §2.3; Table 11: colour jitter 0.4], i.e. BEiT v1's
# pretraining views, unilm beit/datasets.py:33-39 (ColorJitter(0.4, 0.4, 0.4), horizontal flip 0.5, then one random
# resized crop) with beit/transforms.py:82's crop (area 0.08-1, aspect 3/4-4/3, bicubic PIL resize; positions with
# inclusive bounds, as beitmm.TwoViewRandomResizedCrop draws them). VQ-KD reads the same 224 px view (no second view).
image_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.TwoViewRandomResizedCrop', size=224, second_size=None, scale=(0.08, 1.0),
         ratio=(3. / 4., 4. / 3.), interpolation='bicubic', backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=num_masking_patches,
         min_num_patches=16, exact=True),
    dict(type='beitmm.PackPretrainInputs'),
]
text_pipeline = [
    # 15% [paper, §2.2]; (choice) exactly round(15%) per text, token-level, BERT's 80/10/10 (the paper says only
    # "randomly mask 15% tokens"); whole_word=True masks whole SentencePiece words
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=max_text_len, mask_ratio=0.15, whole_word=False),
    dict(type='beitmm.PackPretrainInputs'),
]
# Pairs: BEiT's colour jitter 0.4 (as the images; it changes no colour name: hue is kept), but two departures from
# "the same augmentation as in BEiT" (beitmm's choice, the paper says nothing specific about pairs): no flip, which
# would falsify 'left' / 'right' in a caption, and a milder crop (area 0.5-1, VLMo's pair crop scale,
# vlmo/transforms/square_transform.py:24), so the crop rarely cuts away what the caption names.
pair_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip', on_missing='skip'),  # dumps list failed downloads
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic',
         backend='pillow'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=num_masking_patches,
         min_num_patches=16, exact=True),
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=max_text_len, mask_ratio=0.5, whole_word=False),
    dict(type='beitmm.PackPretrainInputs'),
]
train_dataloader = dict(
    batch_size=None,  # each item is a whole step; the per-rank counts are dataset.counts
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='beitmm.MultiSourceStepSampler'),
    collate_fn=dict(type='beitmm.collate_streams'),
    dataset=dict(
        type='beitmm.MultiSourceDataset',
        counts=dict(image=128, text=128, pair=128),  # per rank per step: 16 ranks give the paper's 2048 each
        sources=dict(
            image=dict(type='beitmm.UnlabeledImageFolder', data_root=data_root, data_prefix=dict(img_path='images'),
                       pipeline=image_pipeline),
            text=dict(type='beitmm.TextLineDataset', data_root=data_root, files=['texts.txt'],
                      pipeline=text_pipeline),
            pair=dict(type='beitmm.ImageTextPairDataset', data_root=data_root, ann_file='pairs.jsonl',
                      data_prefix=dict(img_path='pair_images'), pipeline=pair_pipeline))))
