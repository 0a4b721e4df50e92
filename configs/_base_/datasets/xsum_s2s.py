# XSum as users download it (HF / fairseq line-aligned files: {train,val,test}.source / .target under data_root);
# s2s-ft's JSON lines ({"src": ..., "tgt": ...}, text or token lists) load the same way (ann_file='train.json'); token
# lists reach the model as src_tokens / tgt_tokens (ids token by token, s2s_ft/utils.py:313-320).
# Test scores: s2s-ft's evaluations/eval_for_xsum.py protocol (fix_tokenization, -LRB-; ROUGE-1/2/L via rouge-score,
# see beitmm/evaluation/metrics/s2s_protocols.py); validation: rouge-score ROUGE-1/2/L/Lsum and BLEU-4 (choice: fast,
# on raw text).
dataset_type = 'beitmm.Seq2SeqDataset'
data_root = 'data/xsum'
pipeline = [dict(type='PackInputs', algorithm_keys=['src', 'tgt', 'src_tokens', 'tgt_tokens'], meta_keys=['line'])]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='train', pipeline=pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='val', pipeline=pipeline))
val_evaluator = dict(type='beitmm.Seq2SeqMetric')
test_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='test', pipeline=pipeline))
# one output line per input, in input order (s2s-ft's ${MODEL}.${SPLIT}); checked against the split's targets
test_evaluator = dict(type='beitmm.Seq2SeqMetric', output_file='work_dirs/s2s_predictions.test.txt',
                      ref_file=data_root + '/test.target', protocol='xsum')  # eval_for_xsum.py (trunc_len 0)
