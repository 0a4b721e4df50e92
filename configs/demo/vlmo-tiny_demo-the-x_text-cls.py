# THE-X on the Multiway text branch, the original model: beitmm.TextClassifier on VLMo's text branch (MoME blocks:
# shared attention, text FFN expert), width 32, 2 layers (choice), on JSON lines {"text": ..., "label": ...}
# (beitmm.TextClassificationDataset; data_root and the WordPiece vocab_file are set per run).
_base_ = ['../demo/bert-tiny_demo_text-cls.py']
model = dict(
    backbone=dict(_delete_=True, type='beitmm.VLMo', arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                                                               feedforward_channels=64, vlffn_start=1),
                  img_size=32, patch_size=16, vocab_size=400, max_text_len=48, rel_pos_text_len=48),
    max_len=40)
