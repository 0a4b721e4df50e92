# SQuAD question generation in UniLM v1's files ({train,dev,test}.pa.tok.txt: "paragraph [SEP] answer", and
# {split}.q.tok.txt: the question; WordPiece-tokenized, joined back into words). BLEU-4, METEOR (pycocoevalcap's
# METEOR 1.5, Java) and ROUGE-L, as the QG tables report them.
_base_ = ['./xsum_s2s.py']
data_root = 'data/squad_qg'
train_dataloader = dict(dataset=dict(data_root=data_root, data_format='qg'))
val_dataloader = dict(dataset=dict(data_root=data_root, data_format='qg', ann_file='dev'))
test_dataloader = dict(dataset=dict(data_root=data_root, data_format='qg'))
val_evaluator = dict(type='beitmm.Seq2SeqMetric', meteor=True)
test_evaluator = dict(ref_file=data_root + '/test.q.tok.txt', meteor=True)
