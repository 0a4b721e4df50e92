# s2s-ft pseudo-masked fine-tuning of VLMo base's text branch (L-FFN experts, BERT uncased vocab.txt) on XSum: the
# unilm1.2 XSum recipe with a shorter source (a beitmm choice, no official number): VLMo has no absolute text
# positions and its relative table covers rel_pos_text_len = 196 positions (max_text_len_of_initckpt), so source +
# target must fit 196 tokens (148 + 48 here).
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(
    max_source_len=148,
    backbone=dict(_delete_=True, type='beitmm.VLMo', arch='base', vocab_size=30522, max_text_len=40,
                  rel_pos_text_len=196,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/vlmo_base_patch16_224.pt')),
    tokenizer=dict(vocab_file='data/bert-base-uncased/vocab.txt'))
