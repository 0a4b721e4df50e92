# VL-BEiT-B fine-tuned on ImageNet-1k from a beitmm VL-BEiT pretraining (configs/vlbeit/vlbeit-b_pretrain_vl-corpus.py).
# VL-BEiT is paper only (arXiv 2206.01127: "competitive performance on image classification"; no code, no recipe):
# every value below is beitmm's choice, taken from BEiT-B's self-supervised ImageNet-1k recipe
# (configs/beit/beit-b_in1k.py, unilm beit: 100 epochs, lr 4e-3 @ 1024, layer decay 0.65, drop path 0.1, 20 warm-up
# epochs, mixup 0.8 / cutmix 1.0, RandAugment, label smoothing 0.1, random erasing 0.25, mean 0.5 / std 0.5 as
# VL-BEiT's pretraining, mean pooling + final norm). The image path only: the vision experts in every layer, as
# VLMo's image-only forward; the text embeddings and the language / VL experts are kept (the checkpoint loads whole,
# zero missing keys) but frozen (image_only=True). 8 GPUs x 128 images; auto_scale_lr rescales lr to other batches.
_base_ = ['../beit/beit-b_in1k.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='beitmm.VLBEiT',
        arch='base',
        img_size=224,
        patch_size=16,
        use_mask_token=False,  # the pretraining's mask token is dropped on load, with a report
        out_type='avg_featmap',  # choice (BEiT-B's): mean patch token, then the final norm (transformer.norm)
        image_only=True,
        drop_path_rate=0.1,  # choice (BEiT-B's)
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/vlbeit-b_pretrain_vl-corpus/iter_200000.pth')))
