"""Fine-tuning from a pretraining checkpoint starts the mean-pooled norm fresh, as unilm / timm / mmpretrain (F2).

unilm's ``run_class_finetuning.py`` builds the classifier with ``use_mean_pooling`` (``norm`` is Identity,
``fc_norm`` a new LayerNorm) and loads with ``utils.load_state_dict``, which discards the pretraining ``norm.*``:
``fc_norm`` starts at weight 1, bias 0.
"""
import torch

from beitmm.checkpoint import ConversionTarget, convert_backbone_state_dict, converter_for, load_pretrained_backbone
from beitmm.models.backbones import BEiT

from .ckpt_fakes import official


def _classifier_backbone() -> BEiT:
    return BEiT(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128), img_size=64,
                out_type='avg_featmap')


def test_pretraining_norm_is_reinitialised_for_mean_pooling():
    pre = official(shared=True, per_layer=False, mask_token=True, lm_head=True)
    shapes = {k: v.shape for k, v in _classifier_backbone().state_dict().items()}
    out, report = convert_backbone_state_dict(pre, shapes, pooled_norm=True)
    assert 'norm.weight' not in out and report.missing == []
    assert sorted(dict(report.reinitialised)) == ['norm.bias', 'norm.weight']
    assert 'pretraining' in dict(report.reinitialised)['norm.weight']
    # a target that applies the norm per token (pretraining, token output) keeps it
    out, report = convert_backbone_state_dict(pre, shapes, pooled_norm=False)
    assert torch.equal(out['norm.weight'], pre['norm.weight']) and not report.reinitialised


def test_finetuned_fc_norm_is_kept():
    ft = official(fc_norm=True, head=10)  # fine-tuned: fc_norm is the pooled norm
    shapes = {k: v.shape for k, v in _classifier_backbone().state_dict().items()}
    out, report = convert_backbone_state_dict(ft, shapes, pooled_norm=True)
    assert torch.equal(out['norm.weight'], ft['fc_norm.weight']) and not report.reinitialised


def test_backbone_declares_the_pooling_to_its_converter():
    m = _classifier_backbone()
    target = m.checkpoint_target()
    assert isinstance(target, ConversionTarget) and target.pooled_norm and target.grid == (4, 4)
    assert converter_for(m).name == 'beit'
    raw = BEiT(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128), img_size=64,
               out_type='raw')
    assert not raw.checkpoint_target().pooled_norm


def test_loading_leaves_the_pooled_norm_at_identity():
    m = _classifier_backbone()
    report = load_pretrained_backbone(m, {'model': official(shared=True, per_layer=False, mask_token=True)})
    assert torch.equal(m.norm.weight.detach(), torch.ones(32)) and torch.equal(m.norm.bias.detach(), torch.zeros(32))
    assert 'norm.weight' in dict(report.reinitialised)
    assert 're-initialised' in report.table()
