# VQAv2 in its released layout (COCO images + the official question / annotation json), BEiT-3 recipe
# (beit3/datasets.py VQAv2Dataset): train = train + trainable_val, 480 px, RandomResizedCrop (0.5, 1) + flip + BLIP's
# RandomAugment(2, 7) for training (--randaug, get_started_for_vqav2.md:57), a plain bicubic resize for evaluation.
# Answers: the 3129 seen >= 9 times in train + val (unilm's answer2label.txt is read when present), soft scores.
# Validation differs from unilm's on purpose (a choice; test-dev is unaffected), so val numbers are not comparable:
# rest_val = 1000 val images picked with a seed from all val images (unilm: an unseeded shuffle of the images with a
# labelled question, datasets.py:538-555), unanswerable questions kept and scored 0 (unilm drops them,
# datasets.py:484-493), the official VQA accuracy over the 10 raw answers (unilm: VQAScore, the soft score of the
# arg-max, utils.py:742-762), on the test-time resize (unilm validates on training transforms, datasets.py:847).
_base_ = ['./vl_common.py']
dataset_type = 'beitmm.VQAv2'
data_root = 'data/vqav2'
img_size = 480
train_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile', on_corrupt='skip'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # unilm flips VQA images too (left/right questions)
    {{_base_.train_pipeline_randaug}},
    dict(type='PackInputs', algorithm_keys=['question', 'answer_labels', 'answer_scores'],
         meta_keys=['question_id', 'image_id']),
]
test_pipeline = [
    dict(type='beitmm.RobustLoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs', algorithm_keys=['question', 'gt_answers', 'answer_type'],
         meta_keys=['question_id', 'image_id']),
]
train_dataloader = dict(
    batch_size=16, num_workers=8, persistent_workers=True, pin_memory=True, drop_last=True,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='beitmm.ResumableSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split=('train', 'trainable_val'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='rest_val', pipeline=test_pipeline))
val_evaluator = dict(type='beitmm.VQAAccuracy')
# test-dev: no answers; writes the EvalAI submission (checked against the split's question file)
test_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, pin_memory=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test-dev', pipeline=test_pipeline))
test_evaluator = dict(type='beitmm.VQAAccuracy', file_path='work_dirs/vqav2_test-dev_submission.json',
                      question_file=data_root + '/vqa/v2_OpenEnded_mscoco_test-dev2015_questions.json')
val_cfg = dict()
test_cfg = dict()
