# CNN / DailyMail (line-aligned {train,val,test}.source / .target; multi-sentence targets: ROUGE-Lsum splits at
# newlines and s2s-ft's [X_SEP]).
_base_ = ['./xsum_s2s.py']
data_root = 'data/cnndm'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
test_evaluator = dict(ref_file=data_root + '/test.target')
