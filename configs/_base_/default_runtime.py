# Runtime shared by every beitmm config. Only mmengine / beitmm types: valid under any default scope.
default_scope = 'beitmm'
custom_imports = dict(imports=['beitmm'], allow_failed_imports=False)
# beitmm's own config: build_runner builds its loops, samplers, hooks and optim wrapper as written, and changes only
# what depends on the machine (logged). Configs without it (mmseg / mmpretrain projects using beitmm components) get
# beitmm's exact-resume loops and samplers, the hooks below and the counting AMP wrapper from build_runner (logged).
beitmm_config = True

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Writes checkpoints atomically (a kill mid-write never leaves a truncated file).
    checkpoint=dict(type='beitmm.AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Exact resume: saves every rank's random states and the sampler seed in each checkpoint, restores them, and
    # checks the checkpoint fits the model built (with the Resumable* loops and samplers of the schedules and the
    # dataset bases, a resumed run continues as the uninterrupted one).
    resume_state=dict(type='beitmm.ResumeStateHook'),
    # Stops at the first NaN / Inf loss with the iteration and the loss terms, before anything logs or saves it.
    non_finite_loss=dict(type='beitmm.NonFiniteLossHook'),
    # Checks segmentation labels against num_classes; logs how many corrupt samples were skipped.
    data_health=dict(type='beitmm.DataHealthHook'),
)
# The three above are default_hooks (merged by key) rather than custom_hooks (a list that a leaf replaces), so a leaf
# with its own custom_hooks keeps them.
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
