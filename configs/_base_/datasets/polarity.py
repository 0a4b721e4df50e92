# Real movie-review sentence polarity: gensim's test/test_data/pang_lee_polarity.cor (200 sentences, 100
# __label__neg then 100 __label__pos, Windows-1252), read by beitmm.PolarityDataset, which finds the installed file
# (`pip install --no-deps -r requirements/realdata.txt`). Fixed split: per label the first 80% in file order train
# (160), the rest test (40). beitmm.GLUEMetric task='polarity': accuracy in %, chance 50%.
polarity_pipeline = [dict(type='PackInputs', algorithm_keys=['text'], meta_keys=['line'])]
train_dataloader = dict(
    batch_size=16, num_workers=0, sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type='beitmm.PolarityDataset', split='train', pipeline=polarity_pipeline))
val_dataloader = dict(
    batch_size=40, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='beitmm.PolarityDataset', split='test', pipeline=polarity_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='beitmm.GLUEMetric', task='polarity')
test_evaluator = val_evaluator
