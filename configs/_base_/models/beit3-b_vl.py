# BEiT-3 base for the vision-language tasks (unilm beit3/modeling_finetune.py): both experts, the official
# SentencePiece vocabulary (beit3.spm, 64002 ids in a 64010-row embedding), BEiT-3's pretrained checkpoint.
# Put the released files at these paths (or override them: --cfg-options model.tokenizer.model_file=...).
model = dict(
    backbone=dict(
        type='beitmm.BEiT3',
        arch='base',
        img_size=224,  # set per task: the checkpoint's table is resized to it on load (unilm does the same)
        vocab_size=64010,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/beit3_base_patch16_224.pth')),
    tokenizer=dict(type='beitmm.SentencePieceTokenizer', model_file='data/beit3/beit3.spm'))
