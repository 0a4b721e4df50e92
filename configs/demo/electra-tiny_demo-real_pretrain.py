# Demo, real text: the tiny ELECTRA of electra-tiny_demo_pretrain.py (discriminator 4 x 96, generator 2 x 32, token
# embeddings tied) pretrained on real English news text, the sentences of gensim's Lee corpus (lee_background.cor
# and lee.cor, 350 paragraphs; `python tools/demo.py --task electra --electra-text real` writes
# data/demo/electra_real/corpus.source and a WordPiece vocabulary trained on it). Its downstream test is the real
# polarity task (configs/demo/bert-tiny_demo-real_text-cls.py). Choices, fixed before any downstream figure was
# seen: a 4000-token uncased WordPiece vocabulary trained on the corpus (not bert-base-uncased's 30522 entries: the
# embedding and the generator's output layer stay small, and 65k words of text cannot train 30k embeddings);
# 64 tokens per sentence (the corpus sentences average 34 tokens, 95% are at most 59); batch 32 (the sentences are
# about 3 times as long as the captions); the base's 300 iterations (3.5 passes over the 2759 sentences; a budget
# choice: three runs and four fine-tunings in about 6 minutes on 2 cores); the rest as the generated-caption demo.
_base_ = ['./electra-tiny_demo_pretrain.py']
data_root = 'data/demo/electra_real'
vocab_size = 4000
model = dict(
    max_len=64,
    backbone=dict(vocab_size=vocab_size),
    generator=dict(vocab_size=vocab_size),
    tokenizer=dict(vocab_file=data_root + '/vocab.txt'))
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
