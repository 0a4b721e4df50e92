# BEiT-3 masked data modeling data (multimodal.md §1.13, from the paper; no official code exists): every step holds
# images (40% of patches masked blockwise), texts (15% of tokens masked) and image-text pairs (50% of the text tokens
# and 40% of the patches masked). The paper's batch is 2048 + 2048 + 2048 per step over all GPUs; `counts` are per
# rank (e.g. 128 each on 16 GPUs). Targets (VQ-KD tokens, SentencePiece ids) are made by the model.
# Layout: data/pretrain/{images/, texts.txt, pairs.jsonl, pair_images/} (beitmm.testing.synthetic_pretrain writes it;
# swap the pair source for beitmm.WebDatasetPairs(shards='data/pretrain/shards/pairs-{000000..000099}.tar') at scale).
data_root = 'data/pretrain'
text_tokenizer = dict(type='beitmm.SentencePieceTokenizer', model_file='data/beit3/beit3.spm')
max_text_len = 64  # (choice) BEiT-3's fine-tuning length; the paper does not give the pretraining one
# paper: 40% blockwise, "BEiT style"; BEiT's own "about 40%" is 75 of 196 in its code (beit-family.md §2): (choice) 75
num_masking_patches = 75
image_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),  # corrupt/truncated: warn, count, skip
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0), interpolation='bicubic',
         backend='pillow'),  # (choice) BEiT v2's crop scale 0.2-1
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=num_masking_patches,
         min_num_patches=16, exact=True),
    dict(type='beitmm.PackPretrainInputs'),
]
text_pipeline = [
    # (choice) exactly round(15% of the tokens) per text, token-level; whole_word=True masks whole SentencePiece words
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=max_text_len, mask_ratio=0.15, whole_word=False),
    dict(type='beitmm.PackPretrainInputs'),
]
pair_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip', on_missing='skip'),  # dumps list failed downloads
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic',
         backend='pillow'),  # (choice) VLMo's pair crop scale 0.5-1; no flip: it falsifies 'left' / 'right' captions
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
