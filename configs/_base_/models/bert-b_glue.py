# BERT-base (uncased) as a GLUE classifier: beitmm.TextClassifier (pooled [CLS] -> dropout 0.1 -> linear) on
# beitmm.BertEncoder. The encoder loads any 'bert'-converter layout: HF bert-base-uncased pytorch_model.bin /
# model.safetensors, google-research TF-ported files, RoBERTa / XLM-R / ELECTRA / UniLM / MiniLM (set the arch).
# Paths are placeholders: put the files there or override with --cfg-options.
model = dict(
    type='beitmm.TextClassifier',
    num_classes=2,
    max_len=128,  # BERT's GLUE max_seq_length
    dropout=0.1,
    backbone=dict(type='beitmm.BertEncoder', arch='base', vocab_size=30522,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/bert-base-uncased/model.safetensors')),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='pretrain/bert-base-uncased/vocab.txt'))
