# Zero-shot ImageNet-1k with a BEiT-3 base retrieval model: ImageNet as image-to-text retrieval over class prompts
# (BEiT-3 paper §3.2; CLIP's prompt ensembling): each class is the re-normalised mean of the ITC text embeddings of
# OpenAI's 80 templates filled with its name (beitmm/resources/zero_shot/, the names of OpenAI's CLIP notebook in class-
# index order), an image is classified by the cosine of its ITC image embedding with them (beitmm.ZeroShotClassifier).
# Evaluate a released retrieval checkpoint (no training):
#   python tools/test.py configs/beit3/beit3-b_zeroshot_in1k.py pretrain/beit3_base_itc_patch16_224.pth
# (the image-text contrastive model the retrieval configs start from). Any BEiT-3 retrieval checkpoint loads, e.g. the
# 384 px COCO / Flickr30K ones: its position table is resized to model.backbone.img_size on load. Data: the mmpretrain
# ImageNet layout, val/<wnid>/*.JPEG (sorted wnids = the class order of the name list) or meta/val.txt. No BEiT-3
# zero-shot ImageNet number is published for these checkpoints. This config only evaluates: tools/train.py on it
# stops (train with the retrieval config; its checkpoint then loads here as it is).
_base_ = ['./beit3-b_coco-retrieval.py']
img_size = 224
data_root = 'data/imagenet'
model = dict(
    type='beitmm.ZeroShotClassifier',
    class_names='imagenet',  # beitmm/resources/zero_shot/imagenet_classes.txt, or a file of your dataset's names
    templates='openai_imagenet',  # the 80 templates, or a file / list of templates with one {}
    text_batch_size=256,
    backbone=dict(img_size=img_size, drop_path_rate=0., init_cfg=None))  # the checkpoint comes from the command line
# short side to img_size, centre crop (crop_pct 1.0, as beit3-b_in1k.py evaluates; beitmm's choice for zero-shot)
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    _delete_=True, batch_size=128, num_workers=8, persistent_workers=True, pin_memory=True,
    collate_fn=dict(type='default_collate'), sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='beitmm.ImageNet', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
val_cfg = dict(_delete_=True)
test_cfg = dict(_delete_=True)
