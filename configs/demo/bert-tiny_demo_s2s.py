# Demo: s2s-ft fine-tuning of the demo's MLM-pretrained tiny BERT on a generated task: a scene description ->
# the scene's shapes, sorted ("a blue square right of a red circle." -> "blue square , red circle"). Same model,
# packing, masks, loss, decoding and metric as configs/s2s/; tools/demo.py sets model.algorithm to each of
# 'pseudo-masked', 'masked', 'causal' and load_from to the MLM checkpoint.
_base_ = ['../s2s/s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
data_root = 'data/demo/s2s'
model = dict(
    max_source_len=40, max_target_len=20, num_beams=3, no_repeat_ngram_size=0, ngram_ignore_words=(),
    num_max_mask_token=10,  # for the 'masked' algorithm
    backbone=dict(_delete_=True, type='beitmm.BertEncoder', arch=dict(hidden_size=96, num_layers=4, num_heads=3,
                                                                      intermediate_size=384),
                  vocab_size=400, max_position_embeddings=128, hidden_dropout=0., attn_dropout=0.),
    tokenizer=dict(vocab_file='data/demo/s2s/vocab.txt'))
loader = dict(num_workers=1, persistent_workers=True)
train_dataloader = dict(batch_size=32, **loader, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=64, **loader, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=64, **loader, dataset=dict(data_root=data_root))
# the demo scores raw text with rouge-score and sacrebleu (protocol=None, a choice: its reference is generated)
test_evaluator = dict(output_file='demo_out/s2s/predictions.test.txt', ref_file=data_root + '/test.target',
                      protocol=None)
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=50),
    dict(type='LinearLR', start_factor=1.0, end_factor=0., by_epoch=False, begin=50, end=500),
]
train_cfg = dict(max_iters=500, val_interval=500)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=500, max_keep_ckpts=1))
