"""VLMo config recipes against vlmo/config.py and vlmo/transforms, read from the configs."""
import pytest
from mmengine.config import Config

from beitmm.testing.shrink import config_path

# vlmo/config.py task_finetune_irtr_{coco,f30k}_base_image384 (:346-362, :397-413): batch, steps, warm-up, lr, drop path
IRTR = {'vlmo/vlmo-b_coco-retrieval.py': (3072, 3000, 300, 3e-5, 0.2),
        'vlmo/vlmo-b_flickr30k-retrieval.py': (3072, 1500, 150, 3e-5, 0.15)}
GPUS = 16


def _steps(pipeline):
    return [dict(s, type=s['type'].rpartition('.')[2]) for s in pipeline]


@pytest.mark.parametrize('name', sorted(IRTR))
def test_retrieval_recipes_are_vlmos(name):
    cfg = Config.fromfile(config_path(name))
    batch, steps, warmup, lr, drop_path = IRTR[name]
    assert cfg.train_dataloader.batch_size * GPUS == batch
    assert cfg.train_cfg.max_iters == steps and cfg.param_scheduler[0].end == warmup == cfg.param_scheduler[1].begin
    assert cfg.optim_wrapper.optimizer.lr == lr and cfg.model.backbone.drop_path_rate == drop_path
    assert cfg.model.backbone.img_size == 384 and cfg.model.rerank_topk == 0  # VLMo's recalls: the dual encoder
    assert cfg.model.pretrained_heads is True and cfg.model.gather_grad is False
    if 'flickr' in name:  # VLMo README: F30K starts from the COCO-fine-tuned weights
        assert cfg.model.backbone.init_cfg.checkpoint.endswith('vlmo_base_patch16_384_coco.pt')
        assert cfg.train_dataloader.dataset.ann_file == 'dataset_flickr30k.json'
        assert cfg.test_dataloader.dataset.data_root == 'data/flickr30k'


@pytest.mark.parametrize('name,loader,size', [
    ('vlmo/vlmo-b_vqav2.py', 'train_dataloader', 480), ('vlmo/vlmo-b_nlvr2.py', 'train_dataloader', 384),
    ('vlmo/vlmo-b_coco-retrieval.py', 'train_dataloader', 384),
    ('vlmo/vlmo-b_flickr30k-retrieval.py', 'train_dataloader', 384),
    ('vlmo/vlmo-b_pretrain-stage3_pairs.py', 'pair', 224)])
def test_train_images_go_through_vlmos_square_transform_randaug(name, loader, size):
    """vlmo/transforms/square_transform.py:21-31, for every VLMo task and the stage-3 pairs (vlmo/config.py).

    RandomResizedCrop(size, scale=(0.5, 1.0), bicubic), RandomHorizontalFlip, RandomAugment(2, 7, BLIP's 10 ops);
    VLMo's RandomAugment is BEiT-3's file (vlmo/transforms/randaugment.py = beit3/randaug.py), so the shared entry.
    """
    cfg = Config.fromfile(config_path(name))
    if loader == 'pair':
        pipeline = cfg.train_dataloader.dataset.sources.pair.pipeline
    else:
        pipeline = cfg[loader].dataset.pipeline
        if pipeline[0]['type'].endswith('ApplyToList'):  # NLVR2: the same steps on each image
            pipeline = pipeline[0]['transforms']
    steps = _steps(pipeline)
    crop = next(i for i, s in enumerate(steps) if s['type'] == 'RandomResizedCrop')
    assert steps[crop]['scale'] == size and tuple(steps[crop]['crop_ratio_range']) == (0.5, 1.0)
    assert steps[crop]['interpolation'] == 'bicubic' and steps[crop].get('aspect_ratio_range') is None  # 3/4, 4/3
    flip = steps[crop + 1]
    assert flip['type'] == 'RandomFlip' and flip['prob'] == 0.5 and flip['direction'] == 'horizontal'
    common = Config.fromfile(config_path('_base_/datasets/vl_common.py'))
    assert pipeline[crop + 2] == common.train_pipeline_randaug


@pytest.mark.parametrize('name', ['vlmo/vlmo-b_pretrain-stage2_text.py', 'vlmo/vlmo-b_pretrain-stage3_pairs.py'])
def test_pretraining_masks_as_vlmos_whole_word_collator(name):
    cfg = Config.fromfile(config_path(name))
    for source in ('text', 'pair'):
        mask = next(s for s in cfg.train_dataloader.dataset.sources[source].pipeline if s['type'].endswith('MaskText'))
        assert mask['whole_word'] and mask['mask_ratio'] == 0.15 and mask['budget_over'] == 'padded'
