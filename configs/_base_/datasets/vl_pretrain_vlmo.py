# VLMo / VL-BEiT pretraining data with VLMo's BERT WordPiece vocabulary (vlmo/config.py): texts for stage 2
# (text-only MLM, max_text_len 196) and image-text pairs for stage 3 (ITC / ITM on the unmasked text, MLM on the
# masked one, max_text_len 40). Stage configs keep the streams they use with counts (e.g. dict(image=0, text=0,
# pair=...)); VL-BEiT uses all three (and its own pair pipeline).
# Masking as VLMo's: 15% whole-word masking by transformers' DataCollatorForWholeWordMask on the texts padded to
# max_len (vlmo/datasets/base_dataset.py:114-120, vlmo/datamodules/datamodule_base.py:57-65): round(0.15 x max_len)
# tokens drawn by whole words over [PAD] too, padding picks dropped (budget_over='padded'); short captions get fewer
# masks than 15% (a 40-token caption with 8 real tokens: 1.26 on average, none in 22%; tests/test_datasets).
_base_ = ['./vl_pretrain_beit3.py']
text_tokenizer = dict(type='beitmm.WordPieceTokenizer', vocab_file='data/vlmo/vocab.txt')
text_pipeline = [
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=196, mask_ratio=0.15, whole_word=True,
         budget_over='padded'),
    dict(type='beitmm.PackPretrainInputs'),
]
# VLMo's square_transform_randaug for pretraining pairs too (vlmo/config.py:128-129, transforms/square_transform.py:
# 21-31): RandomResizedCrop (0.5, 1) bicubic, horizontal flip (VLMo flips pairs, captions unchanged), then
# RandomAugment(2, 7) over BLIP's 10 ops, which is BEiT-3's (vlmo/transforms/randaugment.py = unilm beit3/randaug.py):
# the same entry as vl_common.py's train_pipeline_randaug, written here because vl_common.py's data_preprocessor
# must not become a base of the pretraining configs.
pair_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip', on_missing='skip'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic',
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='beitmm.BLIPRandomAugment', num_ops=2, magnitude=7),
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=75, min_num_patches=16,
         exact=True),  # used by VL-BEiT's masked vision-language modeling; VLMo ignores the mask
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=40, mask_ratio=0.15, whole_word=True,
         budget_over='padded'),
    dict(type='beitmm.PackPretrainInputs'),
]
train_dataloader = dict(dataset=dict(sources=dict(text=dict(pipeline=text_pipeline),
                                                  pair=dict(pipeline=pair_pipeline))))
