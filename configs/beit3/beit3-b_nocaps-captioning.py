# BEiT-3 base fine-tuned for NoCaps (unilm beit3/get_started/get_started_for_captioning.md, --task nocaps): the COCO
# captioning recipe of beit3-b_coco-captioning.py (trained on COCO Karpathy train + restval: "We use COCO captioning
# training set as the training data of NoCaps", get_started_for_captioning.md:61; datasets.py:636-638) with lr 1e-5
# (get_started_for_captioning.md:98). Validation: NoCaps val (4500 images, CIDEr over the 10 references of
# nocaps_val_4500_captions.json; unilm scores against its nocaps_val_gt.json copy, utils.py:888-896), decoding at
# most 32 tokens. Test: NoCaps test (10600 images) has no public references: tools/test.py decodes at most 64 tokens,
# writes work_dirs/nocaps_test_predictions.json ([{"image_id", "caption"}], unilm's prediction format) for the EvalAI
# server (https://eval.ai/web/challenges/challenge-page/355) and reports no score. Official weights evaluate as they
# are: tools/test.py CONFIG beit3_base_patch16_480_nocaps.pth. Reported: val CIDEr 104.4 (unilm beit3/README.md; from
# the EvalAI server). No per-domain (in / near / out) scores here: the server reports those.
_base_ = ['./beit3-b_coco-captioning.py']
nocaps_root = 'data/nocaps'  # val/, test/, nocaps_val_4500_captions.json, nocaps_test_image_info.json
val_dataloader = dict(dataset=dict(_delete_=True, type='beitmm.NoCapsCaption', data_root=nocaps_root, split='val',
                                   pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(dataset=dict(_delete_=True, type='beitmm.NoCapsCaption', data_root=nocaps_root, split='test',
                                    pipeline={{_base_.test_pipeline}}))
val_evaluator = dict(type='beitmm.CaptionMetric')
test_evaluator = dict(type='beitmm.CaptionMetric', file_path='work_dirs/nocaps_test_predictions.json')
optim_wrapper = dict(optimizer=dict(lr=1e-5))
