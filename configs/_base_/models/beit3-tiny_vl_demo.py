# The tiny BEiT-3 of the VL demos (configs/demo/beit3-tiny_demo_*.py): 4 layers, width 96, patch 8 at 64 px, from
# scratch, the demo's SentencePiece vocabulary (tools/demo.py --task vl trains it on the generated texts).
demo_backbone = dict(arch=dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384),
                     img_size=64, patch_size=8, vocab_size=512, max_text_positions=66, drop_path_rate=0.,
                     init_cfg=None)
demo_tokenizer = dict(model_file='data/demo/vl/demo.spm')
