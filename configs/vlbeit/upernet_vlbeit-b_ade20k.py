# UperNet + VL-BEiT-B on ADE20K, 512x512 crops, 160k iterations, 8 GPUs x 2 images, from a beitmm VL-BEiT
# pretraining (configs/vlbeit/vlbeit-b_pretrain_vl-corpus.py). VL-BEiT is paper only (arXiv 2206.01127: "competitive
# performance on ... semantic segmentation"; no code, no recipe): every value below is beitmm's choice, taken from
# BEiT-B's recipe for self-supervised weights without intermediate fine-tuning
# (configs/beit/upernet_beit-b_512_ade20k.py, unilm upernet_beit_base_12_512_slide_160k_ade20k_pt: lr 7e-4, layer
# decay 0.65, drop path 0.1, 1500 warm-up iterations then poly, slide inference). Blocks 3, 5, 7, 11 (BEiT-B's)
# give the four feature maps of Feature2Pyramid; the image rows of VLMo's merged relative position table are resized
# from 14x14 to 32x32 on load.
_base_ = ['../beit/upernet_beit-b_512_ade20k.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='beitmm.VLBEiT',
        arch='base',
        img_size=(512, 512),
        patch_size=16,
        use_mask_token=False,  # the pretraining's mask token is dropped on load, with a report
        out_indices=(3, 5, 7, 11),  # choice (BEiT-B's)
        out_type='featmap',
        image_only=True,  # text embeddings, language / VL experts and the final norm loaded but frozen
        drop_path_rate=0.1,  # choice (BEiT-B's)
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/vlbeit-b_pretrain_vl-corpus/iter_200000.pth')))
