# Demo, real sentences: the tiny BERT encoder of bert-tiny_demo_text-cls.py (4 x 96; the discriminator shape of
# electra-tiny_demo-real_pretrain.py) as a beitmm.TextClassifier on gensim's real movie-review polarity sentences
# (pang_lee_polarity.cor; beitmm.PolarityDataset, fixed split: per label the first 80% in file order train, the rest
# test, 160 / 40; beitmm.GLUEMetric task='polarity', accuracy in %, chance 50%): the GLUE-style path of
# configs/glue/*_polarity.py at demo size. `python tools/demo.py --task electra --electra-text real` starts it from
# each ELECTRA discriminator (load_from) and from scratch. Recipe values are demo choices, fixed before any test
# figure was seen: the vocabulary of the real-text pretraining (4000 WordPiece tokens), 64 tokens per sentence
# (as the pretraining), batch 16, lr 5e-4 (the caption demo's), 150 iterations (15 passes over the 160 sentences),
# dropout 0.1 (BERT's GLUE value).
_base_ = ['./bert-tiny_demo_text-cls.py']
data_root = 'data/demo/electra_real'
model = dict(num_classes=2, max_len=64, dropout=0.1, backbone=dict(vocab_size=4000),
             tokenizer=dict(vocab_file=data_root + '/vocab.txt'))
polarity_pipeline = [dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['line'])]
train_dataloader = dict(batch_size=16, dataset=dict(_delete_=True, type='beitmm.PolarityDataset', split='train',
                                                    pipeline=polarity_pipeline))
val_dataloader = dict(batch_size=40, dataset=dict(_delete_=True, type='beitmm.PolarityDataset', split='test',
                                                  pipeline=polarity_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='beitmm.GLUEMetric', task='polarity')
test_evaluator = val_evaluator
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=15),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=False, begin=15, end=150),
]
train_cfg = dict(max_iters=150, val_interval=150)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=150))
