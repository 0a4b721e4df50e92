# VLMo / VL-BEiT pretraining data with VLMo's BERT WordPiece vocabulary (multimodal.md §2.3-2.6): texts for stage 2
# (text-only MLM, max_text_len 196) and image-text pairs for stage 3 (ITC / ITM on the unmasked text, MLM on the
# masked one, 15% whole-word masking as VLMo's DataCollatorForWholeWordMask; max_text_len 40). Stage configs keep the
# streams they use with counts (e.g. dict(image=0, text=0, pair=...)); VL-BEiT uses all three.
_base_ = ['./vl_pretrain_beit3.py']
text_tokenizer = dict(type='beitmm.WordPieceTokenizer', vocab_file='data/vlmo/vocab.txt')
text_pipeline = [
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=196, mask_ratio=0.15, whole_word=True),
    dict(type='beitmm.PackPretrainInputs'),
]
pair_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip', on_missing='skip'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic',
         backend='pillow'),  # VLMo square_transform_randaug's crop; (choice) its flip and RandAugment left out
    dict(type='beitmm.BlockwiseMaskGenerator', input_size=14, num_masking_patches=75, min_num_patches=16,
         exact=True),  # used by VL-BEiT's masked vision-language modeling; VLMo ignores the mask
    dict(type='beitmm.MaskText', tokenizer=text_tokenizer, max_len=40, mask_ratio=0.15, whole_word=True),
    dict(type='beitmm.PackPretrainInputs'),
]
train_dataloader = dict(dataset=dict(sources=dict(text=dict(pipeline=text_pipeline),
                                                  pair=dict(pipeline=pair_pipeline))))
