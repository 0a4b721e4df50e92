# BERT-base fine-tuned on GLUE MNLI (released TSV layout).
# beitmm.GLUEMetric: accuracy, matched (val) and mismatched (test).
# Recipe: BERT's (configs/_base_/schedules/glue_adamw_3e.py). Run: python tools/train.py THIS_CONFIG
_base_ = ['../_base_/models/bert-b_glue.py', '../_base_/datasets/glue.py',
          '../_base_/schedules/glue_adamw_3e.py', '../_base_/default_runtime.py']
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=50))
model = dict(num_classes=3)
train_dataloader = dict(dataset=dict(task='mnli'))
val_dataloader = dict(dataset=dict(task='mnli', split='dev_matched'))
test_dataloader = dict(dataset=dict(task='mnli', split='dev_mismatched'))
val_evaluator = dict(task='mnli')
test_evaluator = dict(task='mnli-mm')
