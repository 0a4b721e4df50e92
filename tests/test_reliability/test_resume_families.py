"""Exact resume for VQ-KD, BEiT v2, MaskDistill and CIM.

The families: VQ-KD tokenizer training, BEiT v2 (VQ-KD targets + CLS branch), MaskDistill (frozen CLIP
teacher) and CIM (generator + sampled tokens + enhancer).

Each family trains its real config, shrunk (``helpers``), for 2 epochs x 4 iterations uninterrupted, then again
resumed from a checkpoint of that run: mid-epoch (iteration 2), at the end of epoch 1 (iteration 4), and
mid-epoch with 2 dataloader workers (iteration 6). The final model, optimizer, scheduler and meta state must be
bit-identical (torch.equal). VQ-KD and CIM draw random numbers inside the model (dead-code restarts, k-means
init; multinomial token sampling) from torch's global generator: a resume that did not restore it would
differ, which the last test shows.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from beitmm.engine.hooks import rng_state

from .helpers import (
    assert_same_training_state,
    beitv2_config,
    cim_config,
    maskdistill_config,
    train_and_load,
    training_state_differences,
    vqkd_config,
    vqkd_tokenizer_checkpoint,
)

FAMILIES = ('vqkd', 'beitv2', 'maskdistill', 'cim')
RESUME_POINTS = [('iter_2.pth', 0), ('iter_4.pth', 0), ('iter_6.pth', 2)]


@pytest.fixture(scope='module')
def tokenizer(unlabeled_root, tmp_path_factory) -> dict:
    """A tiny VQ-KD tokenizer checkpoint for BEiT v2 pretraining: ``{'cfg': model config, 'ckpt': path}``."""
    path = str(tmp_path_factory.mktemp('vqkd_tokenizer') / 'vqkd.pth')
    return dict(cfg=vqkd_tokenizer_checkpoint(unlabeled_root, path), ckpt=path)


def _config(family: str, root: str, work: str, workers: int, tokenizer: dict) -> Config:
    if family == 'vqkd':
        return vqkd_config(root, work, workers)
    if family == 'beitv2':
        return beitv2_config(root, work, tokenizer['cfg'], tokenizer['ckpt'], workers)
    if family == 'maskdistill':
        return maskdistill_config(root, work, workers)
    return cim_config(root, work, workers)



@pytest.fixture(scope='module')
def references(unlabeled_root, tmp_path_factory, request):
    """``get(family)``: the uninterrupted run of a family, trained once per module.

    8 iterations, a checkpoint after each; ``{'family', 'work', 'state', 'tokenizer'}``.
    """
    cache = {}

    def get(family: str) -> dict:
        if family not in cache:
            tok = request.getfixturevalue('tokenizer') if family == 'beitv2' else None
            work = str(tmp_path_factory.mktemp(f'{family}_reference'))
            state = train_and_load(_config(family, unlabeled_root, work, 0, tok))
            assert state['meta']['iter'] == 8
            cache[family] = dict(family=family, work=work, state=state, tokenizer=tok)
        return cache[family]

    return get


def _resume(reference: dict, root: str, work: str, ckpt: str, workers: int) -> dict:
    cfg = _config(reference['family'], root, work, workers, reference['tokenizer'])
    cfg.resume, cfg.load_from = True, osp.join(reference['work'], ckpt)
    return train_and_load(cfg)


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('ckpt,workers', RESUME_POINTS, ids=['mid-epoch', 'epoch-end', 'mid-epoch-2-workers'])
def test_resume_is_exact(references, family, unlabeled_root, tmp_path, ckpt, workers):
    reference = references(family)
    resumed = _resume(reference, unlabeled_root, str(tmp_path), ckpt, workers)
    assert resumed['meta']['iter'] == 8
    assert_same_training_state(reference['state'], resumed)


@pytest.mark.parametrize('family', ['vqkd', 'cim'])
def test_in_model_random_draws_need_the_restored_generator(references, family, unlabeled_root, tmp_path,
                                                           monkeypatch):
    """Control: without the random-state restore, the resumed VQ-KD / CIM run is not bit-identical.

    Their restarts / token sampling draw from torch's generator, so the exact-resume tests above do test it.
    """
    reference = references(family)
    monkeypatch.setattr(rng_state, 'set_rng_state', lambda state: None)
    resumed = _resume(reference, unlabeled_root, str(tmp_path), 'iter_2.pth', 0)
    differences = training_state_differences(reference['state'], resumed)
    assert any(d.startswith('state_dict.') for d in differences), differences  # the weights themselves differ
