# GLUE in its released TSV layout (glue_data/{CoLA,SST-2,MRPC,QQP,STS-B,MNLI,QNLI,RTE,WNLI}/{train,dev}.tsv; MNLI
# dev_matched / dev_mismatched) read by beitmm.GLUEDataset; beitmm.GLUEMetric gives the task's official metric.
# A task config sets `task` in the three datasets and the evaluators. Labels of the test splits are hidden (GLUE
# server), so validation and test both use dev here (MNLI: matched in val, mismatched in test).
data_root = 'data/glue_data'
text_pipeline = [dict(type='PackInputs', algorithm_keys=['text', 'text_b'], meta_keys=['line', 'guid'])]
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type='beitmm.GLUEDataset', task='sst2', split='train', data_root=data_root,
                 pipeline=text_pipeline))
val_dataloader = dict(
    batch_size=128, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='beitmm.GLUEDataset', task='sst2', split='dev', data_root=data_root, pipeline=text_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='beitmm.GLUEMetric', task='sst2')
test_evaluator = val_evaluator
