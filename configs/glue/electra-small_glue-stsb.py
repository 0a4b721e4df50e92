# ELECTRA-Small discriminator (12 layers, hidden 256, 4 heads, FFN 1024, embeddings 128) fine-tuned on
# GLUE STSB (released TSV layout):
# ELECTRA's downstream evaluation. The encoder loads an HF ElectraForPreTraining / ElectraModel file
# (google/electra-small-discriminator layout, `electra.` prefix) through the 'bert' converter, or a beitmm ELECTRA
# run (configs/electra/) by load_from with the generator keys dropped. Recipe from the ELECTRA paper's GLUE
# fine-tuning (Clark et al. 2020, appendix): lr 3e-4, batch 32, 3 epochs, warmup 10%, weight decay 0.01; its
# layer-wise lr decay 0.8 is not applied here.
_base_ = ['../_base_/models/bert-b_glue.py', '../_base_/datasets/glue.py',
          '../_base_/schedules/glue_adamw_3e.py', '../_base_/default_runtime.py']
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=50))
model = dict(
    num_classes=1, regression=True,
    backbone=dict(arch=dict(_delete_=True, hidden_size=256, num_layers=12, num_heads=4, intermediate_size=1024),
                  embedding_size=128,
                  init_cfg=dict(checkpoint='pretrain/electra-small-discriminator/pytorch_model.bin')),
    tokenizer=dict(vocab_file='pretrain/electra-small-discriminator/vocab.txt'))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
train_dataloader = dict(dataset=dict(task='stsb'))
val_dataloader = dict(dataset=dict(task='stsb'))
test_dataloader = val_dataloader
val_evaluator = dict(task='stsb')
test_evaluator = val_evaluator
