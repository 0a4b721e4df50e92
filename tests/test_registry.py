"""Registry contract: every location exists, beitmm's loops live in beitmm's LOOPS, every model type runs.

Every checkpoint converter is registered under the name its backbones declare. Every registered MODELS type
builds at tiny size and runs forward (and backward when it has trainable parameters) without NaN.

A type registered without an entry in ``CASES`` fails ``test_every_model_type_has_a_case``: add one.
"""
import importlib
import pkgutil
from typing import Callable, Dict, Optional, Tuple

import pytest
import torch
from mmengine.registry import Registry
from mmengine.structures import BaseDataElement

import beitmm.registry as beitmm_registry
from beitmm.registry import MODELS
from beitmm.testing.pretrain_models import stream_batch, tiny_mdm, tiny_vlmo
from beitmm.testing.shrink import TINY
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

C = TINY['embed_dims']
VIT = dict(type='beitmm.BEiT', arch=TINY, img_size=32, out_type='raw')
MIM_VIT = dict(VIT, use_mask_token=True, use_rel_pos_bias=False, use_shared_rel_pos_bias=True)
DALLE = dict(type='beitmm.DALLETokenizer', with_decoder=True, n_hid=16, n_blk_per_group=1, vocab_size=64, n_init=16)
SEG_HEAD = dict(in_channels=[C] * 4, in_index=[0, 1, 2, 3], channels=8, num_classes=3, norm_cfg=dict(type='BN'))
# types built on a host library's classes, which build their parts (losses, ...) in its scope, as its configs do
HOST_SCOPES = {'FastUPerHead': 'mmseg', 'LowMemoryFCNHead': 'mmseg', 'LinearProbeClassifier': 'mmpretrain',
               'THEXDistiller': 'mmpretrain'}
Case = Tuple[dict, Callable[[torch.nn.Module], Optional[torch.Tensor]]]


def _img(b: int = 2, size: int = 32) -> torch.Tensor:
    return torch.randn(b, 3, size, size, generator=torch.Generator().manual_seed(0))


def _masks(b: int = 2, grid: int = 2) -> list:
    masks = []
    for i in range(b):
        m = torch.zeros(grid, grid, dtype=torch.bool)
        m.view(-1)[i % (grid * grid)] = True
        masks.append(BaseDataElement(mask=m))
    return masks


def _sum(out) -> torch.Tensor:
    if isinstance(out, dict):
        return sum(v for k, v in out.items() if k.startswith('loss'))
    if isinstance(out, (tuple, list)):
        return sum(_sum(o) for o in out)
    return out.float().sum()


def _vl_samples(**fields) -> list:
    from mmpretrain.structures import DataSample
    return [DataSample(**{k: v[i] for k, v in fields.items()}) for i in range(2)]


VQA_SAMPLES = dict(question=['what color is the circle?', 'how many shapes?'], answer_labels=[[0, 2], []],
                   answer_scores=[[1.0, 0.3], []])


def _feats(b: int = 2) -> list:
    return [torch.randn(b, C, 8, 8), torch.randn(b, C, 4, 4), torch.randn(b, C, 2, 2), torch.randn(b, C, 1, 1)]


CASES: Dict[str, Case] = {
    'THEXPolyGELU': (dict(type='beitmm.THEXPolyGELU'), lambda m: _sum(m(torch.randn(2, 8, requires_grad=True)))),
    'THEXSoftmax': (dict(type='beitmm.THEXSoftmax'), lambda m: _sum(m(torch.rand(2, 2, 5, 5)) * torch.arange(5.))),
    'THEXAffineNorm': (dict(type='beitmm.THEXAffineNorm', normalized_shape=C),
                       lambda m: _sum(m(torch.randn(2, 5, C)) ** 2)),
    'THEXDistiller': (dict(type='beitmm.THEXDistiller', data_preprocessor=dict(num_classes=4), teacher=dict(
        type='mmpretrain.ImageClassifier', backbone=dict(VIT, out_type='avg_featmap'), neck=None,
        head=dict(type='mmpretrain.LinearClsHead', num_classes=4, in_channels=C))),
        lambda m: _sum(m(_img(), [], mode='loss'))),
    'BEiT': (dict(VIT), lambda m: _sum(m(_img()))),
    'BEiT3': (dict(type='beitmm.BEiT3', arch=TINY, img_size=32, vocab_size=64, use_mask_token=True),
              lambda m: _sum(m(image=_img(), text=torch.randint(0, 64, (2, 5)), image_mask=torch.eye(2, 4).bool(),
                               text_padding_mask=torch.tensor([[False] * 5, [False] * 3 + [True] * 2])))),
    'BertEncoder': (dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=64, max_position_embeddings=16),
                    lambda m: _sum(m(torch.randint(0, 64, (2, 5)),
                                     padding_mask=torch.tensor([[False] * 5, [False] * 3 + [True] * 2])))),
    'BEiT3Captioner': (dict(type='beitmm.BEiT3Captioner', backbone=tiny_backbone('beit3'), tokenizer=tiny_tokenizer(),
                            max_text_len=12),
                       lambda m: _sum(m(_img(), _vl_samples(gt_caption=['a red circle', 'two blue squares'],
                                                            image_id=[1, 2]), mode='loss'))),
    'BEiTV2Neck': (dict(type='beitmm.BEiTV2Neck', arch=TINY, num_layers=1, early_layers=1),
                   lambda m: _sum(m(MODELS.build(MIM_VIT), _img(), torch.ones(2, 4, dtype=torch.bool)))),
    'CIM': (dict(type='beitmm.CIM', generator=MIM_VIT, generator_head=dict(type='beitmm.MIMHead', in_channels=C,
                                                                         out_channels=64),
                 tokenizer=DALLE, backbone=dict(VIT, use_rel_pos_bias=False, use_shared_rel_pos_bias=True),
                 head=dict(type='beitmm.CIMRevDetHead', in_channels=C)),
            lambda m: _sum(m.loss([_img(), _img(2, 16)], _masks()))),
    'CIMResPixHead': (dict(type='beitmm.CIMResPixHead', in_channels=C, window_size=3),
                      lambda m: _sum(m.loss(torch.randn(2, 5, C), torch.rand(2, 3, 32, 32)))),
    'CIMRevDetHead': (dict(type='beitmm.CIMRevDetHead', in_channels=C),
                      lambda m: _sum(m.loss(torch.randn(2, 5, C), torch.rand(2, 2, 2) > 0.5))),
    'CLIPViT': (dict(type='beitmm.CLIPViT', arch=dict(embed_dims=C, num_layers=1, num_heads=2, output_dims=24),
                     patch_size=16, img_size=32), lambda m: _sum(m(_img()))),
    'DALLETokenizer': (dict(DALLE), lambda m: _sum(m(_img(2, 16)))),
    'DualEncoderRetriever': (dict(type='beitmm.DualEncoderRetriever', backbone=tiny_backbone('vlmo'),
                                  tokenizer=tiny_tokenizer('wordpiece'), max_text_len=12, itm_loss_weight=1.,
                                  rerank_topk=2),
                             lambda m: _sum(m(_img(), _vl_samples(text=['a red circle', 'two blue squares']),
                                              mode='loss'))),
    'DINOViT': (dict(type='beitmm.DINOViT', arch=dict(embed_dims=C, num_layers=1, num_heads=2), patch_size=16,
                     img_size=32), lambda m: _sum(m(_img()))),
    'ELECTRA': (dict(type='beitmm.ELECTRA', max_len=12, tokenizer=tiny_tokenizer('wordpiece'),
                     backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160, max_position_embeddings=40),
                     generator=dict(type='beitmm.BertEncoder', arch=dict(hidden_size=16, num_layers=1, num_heads=2,
                                                                         intermediate_size=32),
                                    embedding_size=32, vocab_size=160, max_position_embeddings=40),
                     sampler=dict(type='beitmm.ReplacementSampler', mode='hardness')),
                lambda m: _sum(m(data_samples=_vl_samples(src=['a red circle left of a square', 'two shapes']),
                                 mode='loss'))),
    'FocalMLMLoss': (dict(type='beitmm.FocalMLMLoss', gamma=2.0),
                     lambda m: _sum(m(torch.randn(6, 8, requires_grad=True), torch.randint(0, 8, (6, ))))),
    'FastUPerHead': (dict(type='beitmm.FastUPerHead', pool_scales=(1, 2), **SEG_HEAD), lambda m: _sum(m(_feats()))),
    'FeatureRegressionLoss': (dict(type='beitmm.FeatureRegressionLoss', kind='smooth_l1', beta=1.0),
                              lambda m: _sum(m(torch.randn(6, 8, requires_grad=True), torch.randn(6, 8)))),
    'FeatureTarget': (dict(type='beitmm.FeatureTarget', teacher=dict(VIT), student_patch_size=16),
                      lambda m: _sum(m(_img()))),
    'HardnessHead': (dict(type='beitmm.HardnessHead', in_channels=8, vocab_size=10),
                     lambda m: _sum(m.loss(m(torch.randn(4, 8)), torch.tensor([1, 2, 3, 4]), torch.rand(4)))),
    'KMeansTokenizer': (dict(type='beitmm.KMeansTokenizer', patch_size=8, vocab_size=16, pool=2), None),
    'LinearProbeClassifier': (dict(type='beitmm.LinearProbeClassifier', backbone=dict(VIT),
                                   neck=dict(type='beitmm.LinearProbeNeck', in_channels=C),
                                   head=dict(type='mmpretrain.LinearClsHead', num_classes=3, in_channels=2 * C)),
                              lambda m: _sum(m(_img(), mode='tensor'))),
    'LN2d': (dict(type='beitmm.LN2d', num_channels=C), lambda m: _sum(m(torch.randn(2, C, 3, 3)) * torch.arange(3.))),
    'SimpleFPN': (dict(type='beitmm.SimpleFPN', in_channels=C, out_channels=8),
                  lambda m: _sum(torch.cat([o.flatten(1) for o in m((torch.randn(2, C, 4, 4), ))], 1))),
    'LinearProbeNeck': (dict(type='beitmm.LinearProbeNeck', in_channels=C),
                        lambda m: _sum(m([torch.randn(4, 5, C, requires_grad=True)]))),
    'LowMemoryFCNHead': (dict(type='beitmm.LowMemoryFCNHead', in_channels=C, in_index=2, channels=8, num_convs=1,
                              num_classes=3, norm_cfg=dict(type='BN')), lambda m: _sum(m(_feats()))),
    'MIMHead': (dict(type='beitmm.MIMHead', in_channels=C, out_channels=16),
                lambda m: _sum(m.loss(torch.randn(2, 4, C), torch.randint(0, 16, (2, 4)),
                                      torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0]], dtype=torch.bool)))),
    'MaskedDataModeling': (tiny_mdm('beit3'), lambda m: _sum(m(**m.data_preprocessor(stream_batch(), True)))),
    'MultiStreamDataPreprocessor': (dict(type='beitmm.MultiStreamDataPreprocessor'),
                                    lambda m: _sum(m(stream_batch(streams=('pair', )), True)['pair']['img'])),
    'MaskedImageModeling': (dict(type='beitmm.MaskedImageModeling', backbone=MIM_VIT,
                                 head=dict(type='beitmm.MIMHead', in_channels=C, out_channels=64),
                                 target_generator=dict(DALLE, with_decoder=False)),
                            lambda m: _sum(m.loss([_img(), _img(2, 16)], _masks()))),
    'NLVR2Classifier': (dict(type='beitmm.NLVR2Classifier', backbone=tiny_backbone('beit3'),
                             tokenizer=tiny_tokenizer(), max_text_len=12),
                        lambda m: _sum(m(torch.stack([_img(), _img()], 1),
                                         _vl_samples(text=['both images have a circle', 'one shape'],
                                                     gt_label=[1, 0]), mode='loss'))),
    'PixelTarget': (dict(type='beitmm.PixelTarget', patch_size=16), lambda m: _sum(m(_img()))),
    'RTDHead': (dict(type='beitmm.RTDHead', in_channels=8), lambda m: _sum(m(torch.randn(2, 5, 8)))),
    'ReplacementSampler': (dict(type='beitmm.ReplacementSampler', mode='hardness'),
                           lambda m: _sum(m(torch.randn(6, 8), torch.rand(6, 8) + 0.1)[1])),
    'Seq2SeqFinetuner': (dict(type='beitmm.Seq2SeqFinetuner', max_source_len=12, max_target_len=8, num_beams=2,
                              backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160,
                                            max_position_embeddings=40),
                              tokenizer=tiny_tokenizer('wordpiece'), ngram_ignore_words=()),
                         lambda m: _sum(m(data_samples=_vl_samples(src=['a red circle', 'two shapes'],
                                                                   tgt=['circle red', 'shapes two']), mode='loss'))),
    'TextMaskedLM': (dict(type='beitmm.TextMaskedLM', max_len=12, tokenizer=tiny_tokenizer('wordpiece'),
                          backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160,
                                        max_position_embeddings=40)),
                     lambda m: _sum(m(data_samples=_vl_samples(src=['a red circle left of a square', 'two shapes']),
                                      mode='loss'))),
    'TextClassifier': (dict(type='beitmm.TextClassifier', num_classes=3, max_len=12,
                            tokenizer=tiny_tokenizer('wordpiece'),
                            backbone=dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=160,
                                          max_position_embeddings=40)),
                       lambda m: _sum(m(data_samples=_vl_samples(text=['a red circle', 'two shapes'],
                                                                 gt_label=[2, 0]), mode='loss'))),
    'TokenClassificationLoss': (dict(type='beitmm.TokenClassificationLoss'),
                                lambda m: _sum(m(torch.randn(6, 8, requires_grad=True), torch.randint(0, 8, (6, ))))),
    'TwoViewDataPreprocessor': (dict(type='beitmm.TwoViewDataPreprocessor', second_mean=[0.] * 3,
                                     second_std=[255.] * 3),
                                lambda m: _sum(m(dict(inputs=[[torch.zeros(3, 8, 8, dtype=torch.uint8)] * 2,
                                                              [torch.zeros(3, 4, 4, dtype=torch.uint8)] * 2]),
                                                 True)['inputs'])),
    'VLMoPretraining': (dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(), loss_weights=dict(itc=1, itm=1,
                                                                                                     mlm=1)),
                        lambda m: _sum(m(**m.data_preprocessor(stream_batch(streams=('pair', )), True)))),
    'VLBEiT': (dict(type='beitmm.VLBEiT', arch=TINY, img_size=32, vocab_size=64, rel_pos_text_len=8, vlffn_start=1),
               lambda m: _sum(m(image=_img(), text=torch.randint(0, 64, (2, 5)), image_mask=torch.eye(2, 4).bool(),
                                text_padding_mask=torch.tensor([[False] * 5, [False] * 3 + [True] * 2])))),
    'VLMo': (dict(type='beitmm.VLMo', arch=TINY, img_size=32, vocab_size=64, rel_pos_text_len=8, vlffn_start=1),
             lambda m: _sum(m(image=_img(), text=torch.randint(0, 64, (2, 5)),
                              text_padding_mask=torch.tensor([[False] * 5, [False] * 3 + [True] * 2])))
             + _sum(m(image=_img(), vl_branch=True))),
    'VQAClassifier': (dict(type='beitmm.VQAClassifier', backbone=tiny_backbone('beit3'), tokenizer=tiny_tokenizer(),
                           num_labels=5, max_text_len=12),
                      lambda m: _sum(m(_img(), _vl_samples(**VQA_SAMPLES), mode='loss'))),
    'VQKD': (dict(type='beitmm.VQKD', encoder=dict(VIT, use_abs_pos_emb=True, use_rel_pos_bias=False,
                                                   layer_scale_init_value=0.),
                  decoder=dict(VIT, arch=dict(TINY, num_layers=1), img_size=2, patch_size=1, use_abs_pos_emb=True,
                               use_rel_pos_bias=False, layer_scale_init_value=0.),
                  teacher=dict(VIT), num_codes=8, code_dim=4, teacher_dim=C), lambda m: _sum(m(_img(), mode='loss'))),
    'ZeroShotClassifier': (dict(type='beitmm.ZeroShotClassifier', backbone=tiny_backbone('beit3'),
                                tokenizer=tiny_tokenizer(), max_text_len=12, class_names=['red', 'blue'],
                                templates=['a {} circle']), lambda m: _sum(m(_img(), mode='tensor'))),
}


def _beitmm_registries() -> Dict[str, Registry]:
    return {n: r for n, r in vars(beitmm_registry).items() if isinstance(r, Registry) and r.scope == 'beitmm'}


@pytest.mark.parametrize('name', sorted(_beitmm_registries()))
def test_every_location_exists_and_imports(name):
    registry = _beitmm_registries()[name]
    if name in ('TEXT_TOKENIZERS', 'CHECKPOINT_CONVERTERS'):  # mmengine has no root registry for these: beitmm's own
        assert registry.parent is None
    else:
        assert registry.parent is not None, f'{name} must be a child of an mmengine root registry'
    for location in registry._locations:
        importlib.import_module(location)  # raises if a location is missing or broken


def test_metrics_resolve_under_the_beitmm_scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('beitmm'):
        assert beitmm_registry.METRICS.get('mmpretrain.Accuracy').__name__ == 'Accuracy'
        assert beitmm_registry.METRICS.get('mmseg.IoUMetric').__name__ == 'IoUMetric'


def test_loops_live_in_beitmms_registry():
    from mmengine.registry import LOOPS as ROOT_LOOPS
    beitmm_registry.LOOPS.import_from_location()
    assert {'ResumableEpochBasedTrainLoop', 'ResumableIterBasedTrainLoop'} <= set(beitmm_registry.LOOPS.module_dict)
    assert 'ResumableEpochBasedTrainLoop' not in ROOT_LOOPS.module_dict
    assert ROOT_LOOPS.get('beitmm.ResumableIterBasedTrainLoop').__name__ == 'ResumableIterBasedTrainLoop'


def test_every_checkpoint_converter_is_registered_under_the_name_backbones_declare():
    import beitmm.checkpoint.families as families
    from beitmm.checkpoint import CheckpointConverter
    registry = beitmm_registry.CHECKPOINT_CONVERTERS
    registry.import_from_location()
    registered = registry.module_dict
    assert sorted(registered) == ['beit', 'beit3', 'bert', 'vlmo']
    for key, cls in registered.items():
        assert issubclass(cls, CheckpointConverter) and cls.name == key, f'{cls.__name__}.name != its key {key!r}'
    prefix = families.__name__ + '.'
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(families.__path__, prefix)]
    defined = {c for m in modules for c in vars(m).values()
               if isinstance(c, type) and issubclass(c, CheckpointConverter) and c is not CheckpointConverter}
    assert defined == set(registered.values()), 'a converter class in beitmm.checkpoint.families is not registered'
    MODELS.import_from_location()
    declared = {c.__name__: c.checkpoint_converter for c in MODELS.module_dict.values()
                if isinstance(getattr(c, 'checkpoint_converter', None), str)}
    assert {'BEiT', 'BEiT3', 'BertEncoder', 'VLMo', 'VLBEiT'} <= set(declared)
    assert set(declared.values()) <= set(registered), f'backbones declare unregistered converters: {declared}'


def test_every_model_type_has_a_case():
    MODELS.import_from_location()
    missing = sorted(set(MODELS.module_dict) - set(CASES))
    assert not missing, f'registered MODELS types without a contract case in tests/test_registry.py: {missing}'


@pytest.mark.parametrize('name', sorted(CASES))
def test_model_type_builds_runs_forward_and_backward(name):
    from mmengine.registry import DefaultScope
    cfg, run = CASES[name]
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(HOST_SCOPES.get(name, 'beitmm')):  # whatever scope earlier tests left
        model = MODELS.build(cfg)
    assert type(model).__name__ == name
    if hasattr(model, 'init_weights'):
        model.init_weights()
    params = list(model.parameters())
    trainable = [p for p in params if p.requires_grad]
    if run is None:  # a buffers-only module (fitted offline): building and its state layout are the contract
        assert not params and model.state_dict()
        return
    out = run(model)
    assert torch.isfinite(out).all(), f'{name} produced a non-finite output'
    if trainable:
        assert out.requires_grad, f'{name} has trainable parameters but its output has no gradient'
        out.backward()
        grads = [p.grad for p in trainable if p.grad is not None]
        assert grads, f'{name}: no parameter received a gradient'
        assert all(torch.isfinite(g).all() for g in grads), f'{name}: non-finite gradient'
    elif params:  # frozen modules (tokenizers, teachers, targets) must not build a graph
        assert not out.requires_grad, f'{name} is frozen but its output requires grad'
    elif out.requires_grad:  # parameter-free (losses): the gradient reaches the inputs
        out.backward()


# ---------------------------------------------------------------------- declared interfaces
def _registered_classes() -> Dict[str, type]:
    MODELS.import_from_location()
    return dict(MODELS.module_dict)


def test_every_declared_checkpoint_converter_is_registered():
    from beitmm.checkpoint import converter_for
    declaring = {n: c for n, c in _registered_classes().items() if getattr(c, 'checkpoint_converter', None)}
    assert {'BEiT', 'BEiT3', 'BertEncoder', 'VLMo', 'VLBEiT'} <= set(declaring)
    for name, cls in declaring.items():
        assert converter_for(cls) is not None, f'{name}.checkpoint_converter names no registered converter'


def _text_backbones() -> Dict[str, type]:
    from beitmm.models.backbones import TextBackbone
    return {n: c for n, c in _registered_classes().items() if isinstance(c, type) and issubclass(c, TextBackbone)}


def test_text_backbones_are_the_text_capable_ones():
    from beitmm.models.backbones import TextBackbone
    assert set(_text_backbones()) == {'BertEncoder', 'BEiT3', 'VLMo', 'VLBEiT'}
    for name, cls in _registered_classes().items():  # a declaration outside the interface would be read by nobody
        if any(hasattr(cls, a) for a in ('token_order', 'encode_text', 'word_embeddings_path')):
            assert issubclass(cls, TextBackbone), f'{name} declares text members but is no TextBackbone'


def _depends_on(out: torch.Tensor, source: torch.Tensor) -> list:
    """For each token position j of ``out`` [B, N, C]: whether it depends on ``source`` (a nonzero gradient).

    A random read-out of each token, not its sum: the sum of a LayerNorm's output has no gradient.
    """
    found, readout = [], torch.randn(out.shape[-1], generator=torch.Generator().manual_seed(2))
    for j in range(out.shape[1]):
        grad, = torch.autograd.grad((out[:, j] @ readout).sum(), source, retain_graph=True, allow_unused=True)
        found.append(grad is not None and bool(grad.abs().sum() > 0))
    return found


@pytest.mark.parametrize('name', sorted(_text_backbones()))
def test_text_backbone_implements_what_it_declares(name):
    from beitmm.checkpoint import converter_for
    from beitmm.models.backbones import FAMILIES, TOKEN_ORDERS
    cls = _text_backbones()[name]
    assert cls.family in FAMILIES and cls.token_order in TOKEN_ORDERS and converter_for(cls) is not None
    torch.manual_seed(0)
    model = MODELS.build(CASES[name][0]).eval()  # no dropout: runs compare exactly
    model.init_weights()
    C, V = model.embed_dims, model.vocab_size
    assert isinstance(C, int) and isinstance(V, int) and model.mlm_head_eps > 0 and isinstance(model.uses_segments,
                                                                                                 bool)
    words = model.word_embeddings
    assert isinstance(words, torch.nn.Embedding) and words.num_embeddings == V
    assert model.get_submodule(cls.word_embeddings_path) is words
    ids = torch.randint(4, V, (2, 5), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model.encode_text(ids)
        assert out.shape == (2, 5, C) and torch.isfinite(out).all()
        torch.testing.assert_close(model.encode_text(ids, positions=torch.arange(5)), out)  # the default positions
        # padding: the keys are never attended, so a padded text's real tokens read as the text alone
        pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
        padded = model.encode_text(ids, padding=pad)
        torch.testing.assert_close(padded[0], out[0])
        torch.testing.assert_close(padded[1, :3], model.encode_text(ids[1:, :3])[0])
        # segments are read exactly when declared
        ones = model.encode_text(ids, segments=torch.ones_like(ids))
        assert torch.equal(ones, model.encode_text(ids, segments=torch.zeros_like(ids))) != model.uses_segments
        # the setter ties a new embedding: encode_text reads through it, no second copy is registered
        tied = torch.nn.Embedding(V, words.embedding_dim)
        tied.weight.copy_(words.weight)
        model.word_embeddings = tied
        assert model.word_embeddings is tied and model.get_submodule(cls.word_embeddings_path) is tied
        assert 'word_embeddings' not in model._modules
        torch.testing.assert_close(model.encode_text(ids), out)
        tied.weight.add_(torch.randn(tied.weight.shape, generator=torch.Generator().manual_seed(3)))
        assert not torch.allclose(model.encode_text(ids), out)
    if cls.token_order == 'text_only':
        with pytest.raises(ValueError, match='encodes no image'):
            model.image_slice(5, 5)
        return
    # token_order against the output: with each token attending only to itself, the patch outputs (and only they)
    # depend on the image, the text outputs (and only they) on the token embedding
    assert isinstance(model.patch_size, int) and isinstance(model.use_mask_token, bool) and model.out_type == 'raw'
    image = torch.randn(1, 3, 32, 32, requires_grad=True)
    n = 1 + (32 // model.patch_size) ** 2 + 5
    hidden = model(image=image, text=ids[:1], attn_mask=torch.eye(n, dtype=torch.bool)[None, None])[-1]
    assert hidden.shape == (1, n, C)
    image_part, text_part = model.image_slice(n, 5), model.text_slice(n, 5)
    assert len(range(n)[image_part]) == n - 5 and len(range(n)[text_part]) == 5
    expected_image = [j in range(n)[image_part][1:] for j in range(n)]  # patches; the cls sees no pixel
    assert _depends_on(hidden, image) == expected_image
    assert _depends_on(hidden, tied.weight) == [j in range(n)[text_part] for j in range(n)]
