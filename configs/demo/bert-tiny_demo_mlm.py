# Demo: masked language modeling of a tiny BERT encoder (4 layers, width 96) on the generated scene texts
# (tools/demo.py --task seq2seq writes data/demo/s2s/corpus.source and the WordPiece vocabulary). The checkpoint is
# the "small pretrained text encoder" every s2s-ft algorithm starts from (load_from, the same backbone and head names).
_base_ = ['../_base_/default_runtime.py']
default_scope = 'mmpretrain'
data_root = 'data/demo/s2s'
model = dict(
    type='beitmm.TextMaskedLM',
    max_len=48,
    backbone=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=96, num_layers=4, num_heads=3,
                                                       intermediate_size=384),
                  vocab_size=400, max_position_embeddings=128, hidden_dropout=0., attn_dropout=0.),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='data/demo/s2s/vocab.txt'))
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True, drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type='beitmm.Seq2SeqDataset', data_root=data_root, ann_file='corpus.source', test_mode=True,
                 pipeline=[dict(type='PackInputs', algorithm_keys=['src'], meta_keys=['line'])]))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=50),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=False, begin=50, end=600),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=600)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=600, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
