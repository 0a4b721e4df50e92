# ELECTRA-Small (Clark et al. 2020; google-research/electra configure_pretraining.py): discriminator 12 layers,
# hidden 256, 4 heads, FFN 1024, embedding size 128; generator a quarter of the width (generator_hidden_size 0.25:
# hidden 64, 1 head of 64, FFN 256), all 12 layers (generator_layers 1.0); token embeddings tied (the generator's
# embedding_size is the discriminator's 128). 15% masking; loss = 1 x MLM + 50 x RTD; uncased vocabulary of 30522.
model = dict(
    type='beitmm.ELECTRA',
    mask_prob=0.15,
    gen_weight=1.0,
    disc_weight=50.0,
    max_len=128,
    backbone=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=256, num_layers=12, num_heads=4,
                                                       intermediate_size=1024),
                  vocab_size=30522, embedding_size=128, max_position_embeddings=512),
    generator=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=64, num_layers=12, num_heads=1,
                                                        intermediate_size=256),
                   vocab_size=30522, embedding_size=128, max_position_embeddings=512),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='data/bert-base-uncased/vocab.txt'),
    # plain ELECTRA sampling: softmax(logits / 1.0), Gumbel-max as the official code, no gradient
    sampler=dict(type='beitmm.ReplacementSampler', mode='plain', method='gumbel', temperature=1.0),
    generator_loss=dict(type='beitmm.FocalMLMLoss', gamma=0.))  # gamma 0: ELECTRA's cross-entropy MLM
