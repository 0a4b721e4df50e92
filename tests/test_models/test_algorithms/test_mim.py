"""The unified masked-image-modeling algorithm with BEiT's DALL-E targets."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from beitmm.models import MaskedImageModeling
from beitmm.registry import MODELS
from beitmm.testing.shrink import TINY

TOKENIZER = dict(type='beitmm.DALLETokenizer', with_decoder=False, n_hid=64, n_blk_per_group=1, vocab_size=512,
                 n_init=32)


def build_mim(**kw) -> MaskedImageModeling:
    cfg = dict(
        type='beitmm.MaskedImageModeling',
        data_preprocessor=dict(type='beitmm.TwoViewDataPreprocessor', second_mean=[0, 0, 0],
                               second_std=[255, 255, 255]),
        backbone=dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw', use_mask_token=True,
                      use_rel_pos_bias=False, use_shared_rel_pos_bias=True),
        head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=512),
        target_generator=TOKENIZER)
    cfg.update(kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(n: int = 2, masked=(0, 5, 6, 15)):
    views = [[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(n)],
             [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(n)]]
    samples = []
    for _ in range(n):
        mask = torch.zeros(4, 4, dtype=torch.bool)
        mask.view(-1)[list(masked)] = True
        samples.append(BaseDataElement(mask=mask))
    return dict(inputs=views, data_samples=samples)


def test_loss_and_accuracy():
    model = build_mim()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss', 'mim_acc'}
    assert torch.isfinite(losses['loss']) and 0 <= losses['mim_acc'] <= 100
    # an untrained head is close to uniform over the 512 tokens
    assert abs(losses['loss'].item() - torch.log(torch.tensor(512.)).item()) < 1.0


def test_head_sees_masked_positions_only():
    model = build_mim()
    data = model.data_preprocessor(batch(masked=(1, 2, 3)), True)
    seen = {}
    model.head.fc.register_forward_hook(lambda m, i, o: seen.update(rows=i[0].shape[0]))
    model(**data, mode='loss')
    assert seen['rows'] == 2 * 3  # B x masked patches, visible tokens never projected


def test_loss_ignores_targets_of_visible_patches(monkeypatch):
    model = build_mim()
    data = model.data_preprocessor(batch(masked=(0, 1)), True)
    ids = torch.randint(0, 512, (2, 16))
    monkeypatch.setattr(model, 'targets', lambda view: ids)
    torch.manual_seed(0)
    a = model(**data, mode='loss')['loss']
    ids[:, 2:] = (ids[:, 2:] + 7) % 512  # change only visible positions' targets
    torch.manual_seed(0)
    b = model(**data, mode='loss')['loss']
    assert torch.equal(a, b)
    ids[:, 0] = (ids[:, 0] + 7) % 512
    torch.manual_seed(0)
    assert not torch.equal(model(**data, mode='loss')['loss'], a)


def test_target_generator_frozen_out_of_optimizer_and_checkpoint():
    model = build_mim()
    tok = model.target_generator
    assert not any(p.requires_grad for p in tok.parameters())
    model.train()
    assert not tok.training and model.backbone.training
    with DefaultScope.overwrite_default_scope('beitmm'):
        wrapper = build_optim_wrapper(model, dict(
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            constructor='beitmm.LayerDecayOptimWrapperConstructor', paramwise_cfg=dict(layer_decay_rate=1.0)))
    in_opt = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not any(id(p) in in_opt for p in tok.parameters())
    assert all(id(p) in in_opt for p in model.backbone.parameters())
    keys = model.state_dict().keys()
    assert not any(k.startswith('target_generator.') for k in keys) and 'backbone.mask_token' in keys
    kept = build_mim(save_target_generator=True).state_dict().keys()
    assert any(k.startswith('target_generator.') for k in kept)
    # a checkpoint without the tokenizer loads back (the tokenizer has its own weights file)
    assert not model.load_state_dict(dict(model.state_dict()), strict=False).unexpected_keys


def test_training_step_updates_student_only():
    model = build_mim()
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-2)))
    before_tok = [p.clone() for p in model.target_generator.parameters()]
    before = model.backbone.mask_token.detach().clone()
    log = model.train_step(batch(), wrapper)
    assert 'loss' in log and 'mim_acc' in log
    assert not torch.equal(before, model.backbone.mask_token)
    assert all(torch.equal(a, b) for a, b in zip(before_tok, model.target_generator.parameters(), strict=True))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='use_mask_token'):
        build_mim(backbone=dict(type='beitmm.BEiT', arch=TINY, img_size=64, out_type='raw'))
    model = build_mim()
    data = model.data_preprocessor(batch(masked=()), True)
    with pytest.raises(ValueError, match='no masked patch'):
        model(**data, mode='loss')
    bad = batch()
    bad['inputs'][1] = [torch.zeros(3, 64, 64, dtype=torch.uint8)] * 2  # 8x8 tokens for a 4x4 student
    with pytest.raises(ValueError, match='target view size'):
        model(**model.data_preprocessor(bad, True), mode='loss')
