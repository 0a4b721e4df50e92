# ELECTRA-Small discriminator (12 layers, hidden 256, 4 heads, FFN 1024, embeddings 128) fine-tuned on real
# movie-review sentence polarity (gensim's pang_lee_polarity.cor):
# ELECTRA's downstream evaluation. The encoder loads an HF ElectraForPreTraining / ElectraModel file
# (google/electra-small-discriminator layout, `electra.` prefix) through the 'bert' converter, or a beitmm ELECTRA
# run (configs/electra/) by load_from with the generator keys dropped. Recipe from the ELECTRA paper's GLUE
# fine-tuning (Clark et al. 2020, appendix): lr 3e-4, batch and epochs below, warmup 10%, weight decay 0.01 (biases and
# LayerNorms none: ELECTRA's exclude_from_weight_decay) and layer-wise lr decay 0.8, the official value
# (google-research/electra configure_finetuning.py: `layerwise_lr_decay = 0.8` for small and base, 0.9 for large).
# Its depths (model/optimization.py `_get_layer_lrs`): lr * 0.8 ** (12 + 2 - depth), embeddings and
# embeddings_project at depth 0 (0.8^14), layer i at i + 1 (layer 0: 0.8^13, layer 11: 0.8^2), the pooler at 13
# (0.8), the classifier at 14 (1); BertEncoder.get_layer_depth (beitmm/models/backbones/bert_layer_depth.py).
_base_ = ['../_base_/models/bert-b_glue.py', '../_base_/datasets/polarity.py',
          '../_base_/schedules/glue_adamw_3e.py', '../_base_/default_runtime.py']
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=50))
model = dict(
    backbone=dict(arch=dict(_delete_=True, hidden_size=256, num_layers=12, num_heads=4, intermediate_size=1024),
                  embedding_size=128,
                  init_cfg=dict(checkpoint='pretrain/electra-small-discriminator/pytorch_model.bin')),
    tokenizer=dict(vocab_file='pretrain/electra-small-discriminator/vocab.txt'))
optim_wrapper = dict(optimizer=dict(lr=3e-4), constructor='beitmm.LayerDecayOptimWrapperConstructor',
                     paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.8))  # official value (above)
# 10 epochs of the 160 training sentences of the polarity base (a choice for so few sentences).
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=5)
