# SQuAD question generation in UniLM v1's files ({train,dev,test}.pa.tok.txt: "paragraph [SEP] answer", and
# {split}.q.tok.txt: the question; WordPiece-tokenized: ids token by token, as unilm-v1 --tokenized_input).
# Scores: unilm-v1 src/qg/eval_on_unilm_tokenized_ref.py (protocol 'qg': references of one source grouped,
# pycocoevalcap Bleu(4) / Meteor (Java) / Rouge on lower-cased text), the protocol of the README's 22.78 / 25.49 /
# 51.57 on these references; protocol='qg-du' with ref_file=<Du's tgt-test.txt> is src/qg/eval.py (README: 22.17).
_base_ = ['./xsum_s2s.py']
data_root = 'data/squad_qg'
train_dataloader = dict(dataset=dict(data_root=data_root, data_format='qg'))
val_dataloader = dict(dataset=dict(data_root=data_root, data_format='qg', ann_file='dev'))
test_dataloader = dict(dataset=dict(data_root=data_root, data_format='qg'))
val_evaluator = dict(type='beitmm.Seq2SeqMetric', protocol='qg')
test_evaluator = dict(ref_file=data_root + '/test.q.tok.txt', protocol='qg')
