# Demo: text classification with a tiny BERT encoder (beitmm.TextClassifier: pooled [CLS] -> linear, cross-entropy)
# on JSON lines {"text": ..., "label": ...} (tools/demo.py --task electra writes data/demo/electra/cls_*.jsonl from
# the generated scenes' captions: the label is a property of the scene). Start from a pretrained encoder with
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...) (e.g. an ELECTRA discriminator) or load_from.
# Recipe values are beitmm choices (no official number).
_base_ = ['../_base_/default_runtime.py']
default_scope = 'mmpretrain'
data_root = 'data/demo/electra'
model = dict(
    type='beitmm.TextClassifier',
    num_classes=4,
    max_len=48,
    backbone=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=96, num_layers=4, num_heads=3,
                                                       intermediate_size=384),
                  vocab_size=400, max_position_embeddings=128, hidden_dropout=0., attn_dropout=0.),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='data/demo/electra/vocab.txt'))
text_pipeline = [dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['line'])]
train_dataloader = dict(
    batch_size=32, num_workers=0, drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type='beitmm.TextClassificationDataset', data_root=data_root, ann_file='cls_train.jsonl',
                 pipeline=text_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='beitmm.TextClassificationDataset', data_root=data_root, ann_file='cls_val.jsonl',
                 pipeline=text_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=20),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=False, begin=20, end=200),
]
train_cfg = dict(type='beitmm.ResumableIterBasedTrainLoop', max_iters=200, val_interval=200)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
