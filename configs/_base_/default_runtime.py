# Runtime shared by every beitmm config. Only mmengine / beitmm types: valid under any default scope.
default_scope = 'beitmm'
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Writes checkpoints atomically (a kill mid-write never leaves a truncated file).
    checkpoint=dict(type='beitmm.AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# Converts any supported checkpoint layout given to `load_from` (official unilm, timm, HF,
# mmpretrain, mmseg, beitmm pretraining) and fails loudly on missing backbone weights.
custom_hooks = [dict(type='beitmm.CheckpointConvertHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # NCCL on GPUs, gloo on CPU (tools/dist_train.sh picks the launcher).
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
