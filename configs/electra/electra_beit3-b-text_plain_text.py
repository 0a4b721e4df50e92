# ELECTRA on the Multiway text branch: BEiT-3 base's language path (shared attention, L-FFN experts; beit3.spm,
# 64010 ids) is the discriminator, a BertEncoder of a third of its width (256, ELECTRA-Base's 1/3) the generator,
# its token embedding tied to BEiT-3's text_embed (embedding_size 768). ELECTRA-Base's recipe otherwise (lr 2e-4,
# batch 256, seq 512: here 128 tokens, a choice). Starting from BEiT-3 weights: backbone.init_cfg.
_base_ = ['./electra-small_plain_text.py']
model = dict(
    max_len=128,
    backbone=dict(_delete_=True, type='beitmm.BEiT3', arch='base', modalities=('language', ), vocab_size=64010),
    generator=dict(arch=dict(hidden_size=256, num_layers=12, num_heads=4, intermediate_size=1024),
                   vocab_size=64010, embedding_size=768),
    tokenizer=dict(_delete_=True, type='beitmm.SentencePieceTokenizer', model_file='data/beit3/beit3.spm'))
train_dataloader = dict(batch_size=256)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
