# s2s-ft pseudo-masked fine-tuning of BEiT-3 base's text branch (language expert only, beit3.spm) on XSum: the
# unilm1.2 XSum recipe applied to another encoder (a beitmm choice; no official number). BEiT-3 has no token types;
# its 1024-row text table covers source + target.
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(
    backbone=dict(_delete_=True, type='beitmm.BEiT3', arch='base', modalities=('language', ), vocab_size=64010,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_base_patch16_224.pth')),
    tokenizer=dict(_delete_=True, type='beitmm.SentencePieceTokenizer', model_file='data/beit3/beit3.spm'),
    ngram_ignore_words=())  # '.' is not one piece in every SentencePiece vocabulary: set it to yours
