# Flickr30K image-text retrieval on the Karpathy split (dataset_flickr30k.json, images in flickr30k-images/; 1k test):
# COCO's retrieval pipelines, loops and metric on another root and split file.
_base_ = ['./coco_retrieval.py']
data_root = 'data/flickr30k'
ann_file = 'dataset_flickr30k.json'
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
val_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
test_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
