# VLMo base for the vision-language tasks (unilm vlmo/): shared attention, V / L experts, VL experts in layers 10-11,
# BERT uncased WordPiece vocabulary (vocab.txt of bert-base-uncased, 30522 ids), 40 text tokens, the stage-3
# pretrained checkpoint (vlmo_base_patch16_224.pt). Override the paths with --cfg-options.
# Fine-tuning start (vlmo_module.py:173,229-336 load_pretrained_weight, strict=False, before the task classifiers are
# built): the backbone's Pretrained file fills the whole task model, so the pretrained pooler, ITC projections
# (itc_{image,text}_proj), logit_scale and ITM head start from it where the task model has them; vqa_classifier /
# nlvr2_classifier start from their init (pretrained_heads=True; the load table lists both).
model = dict(
    backbone=dict(
        type='beitmm.VLMo',
        arch='base',
        img_size=224,
        vocab_size=30522,
        max_text_len=40,
        drop_path_rate=0.15,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vlmo_base_patch16_224.pt')),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='data/bert-base-uncased/vocab.txt'),
    max_text_len=40,
    pretrained_heads=True)
