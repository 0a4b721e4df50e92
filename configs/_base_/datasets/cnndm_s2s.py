# CNN / DailyMail (line-aligned {train,val,test}.source / .target, or s2s-ft's tokenized JSON lines whose [X_SEP]
# stays one token; multi-sentence targets: ROUGE-Lsum splits at newlines and s2s-ft's [X_SEP]). Test scores:
# s2s-ft's evaluations/eval_for_cnndm.py protocol: gold split at " <S_SEP> ", predictions at [X_SEP], sentences of
# <= 4 tokens and near-duplicates (0.7) dropped, 160 tokens kept (--trunc_len 160, s2s-ft README.md:240).
_base_ = ['./xsum_s2s.py']
data_root = 'data/cnndm'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
test_evaluator = dict(ref_file=data_root + '/test.target', protocol='cnndm', trunc_len=160)
