# ELECTRA-Small with plain replacement sampling (the ELECTRA baseline): BertEncoder discriminator, quarter-width
# generator with tied token embeddings, 15% masking, Gumbel sampling without gradient, 1 x MLM + 50 x RTD.
# Text: one line per text under data/text_corpus/train.src; vocabulary data/bert-base-uncased/vocab.txt.
# No official number for this exact setup (ELECTRA-Small reports GLUE 79.9 dev after 1M steps on its own data).
_base_ = [
    '../_base_/models/electra-small.py', '../_base_/datasets/text_corpus_electra.py',
    '../_base_/schedules/electra_small_adamw_1m.py', '../_base_/default_runtime.py'
]
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=50000, max_keep_ckpts=3), logger=dict(interval=100))
log_processor = dict(by_epoch=False)
