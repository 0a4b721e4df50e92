# BEiT-3 large on ImageNet-1k, fully sharded (FSDP) over the ranks: the unilm recipe of beit3-l_in1k.py, trained
# through mmengine's FlexibleRunner. Each transformer block is one FSDP unit (beitmm.wrap_transformer_blocks), so a
# rank holds 1 / N of the weights, gradients and AdamW state plus one block's full weights at a time. Same numbers
# as DDP (tests/test_tools/test_fsdp_train.py checks equal weights after training on 2 CPU ranks).
# Choices (beitmm's): full state dicts in the checkpoints (rank 0 writes one ordinary file, loadable without FSDP).
# Without CUDA, build_runner sets model_wrapper.device_id='cpu' and FSDP runs over gloo.
# Launch: bash tools/dist_train.sh configs/beit3/beit3-l_fsdp_in1k.py N
# Giant (1.9B, not released): --cfg-options model.backbone.arch=giant model.backbone.init_cfg=None
_base_ = ['./beit3-l_in1k.py']
runner_type = 'FlexibleRunner'
strategy = dict(
    type='beitmm.FSDPStrategy',  # mmengine's, resuming on torch 2
    model_wrapper=dict(auto_wrap_policy=dict(type='beitmm.wrap_transformer_blocks'), use_orig_params=True),
    state_dict_cfg='full')
