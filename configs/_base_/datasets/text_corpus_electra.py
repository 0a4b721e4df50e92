# Pretraining text: one text per line (e.g. a Wikipedia / BookCorpus dump split into sentences or paragraphs),
# read by beitmm.Seq2SeqDataset as sources without targets. 128 per batch (ELECTRA-Small).
data_root = 'data/text_corpus'
text_pipeline = [dict(type='PackInputs', algorithm_keys=['src'], meta_keys=['line'])]
train_dataloader = dict(
    batch_size=128, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type='beitmm.Seq2SeqDataset', data_root=data_root, ann_file='train.src', data_format='lines',
                 test_mode=True, pipeline=text_pipeline))
