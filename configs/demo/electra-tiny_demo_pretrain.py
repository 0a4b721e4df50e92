# Demo: ELECTRA pretraining of a tiny BERT discriminator (4 layers, width 96) with a one-third-width generator
# (width 32, 2 layers, token embeddings tied) on the generated scenes' captions (tools/demo.py --task electra writes
# data/demo/electra/corpus.source and the WordPiece vocabulary). Plain sampling here; the demo switches to
# hardness-aware sampling / the focal loss with --cfg-options (model.sampler.mode=hardness,
# model.generator_loss.gamma=1.0). Sizes and schedule are demo choices.
_base_ = ['../_base_/default_runtime.py']
default_scope = 'mmpretrain'
data_root = 'data/demo/electra'
model = dict(
    type='beitmm.ELECTRA',
    mask_prob=0.15,
    disc_weight=50.0,
    max_len=48,
    backbone=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=96, num_layers=4, num_heads=3,
                                                       intermediate_size=384),
                  vocab_size=400, max_position_embeddings=128, hidden_dropout=0., attn_dropout=0.),
    generator=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=32, num_layers=2, num_heads=1,
                                                        intermediate_size=128),
                   vocab_size=400, embedding_size=96, max_position_embeddings=128, hidden_dropout=0.,
                   attn_dropout=0.),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='data/demo/electra/vocab.txt'),
    sampler=dict(type='beitmm.ReplacementSampler', mode='plain', method='gumbel', temperature=1.0),
    generator_loss=dict(type='beitmm.FocalMLMLoss', gamma=0.))
text_pipeline = [dict(type='PackInputs', algorithm_keys=['src'], meta_keys=['line'])]
train_dataloader = dict(
    batch_size=64, num_workers=0, drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type='beitmm.Seq2SeqDataset', data_root=data_root, ann_file='corpus.source', test_mode=True,
                 pipeline=text_pipeline))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=30),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=False, begin=30, end=300),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=300)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)
