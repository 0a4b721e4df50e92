"""VLMo stagewise pretraining and the pretraining -> fine-tuning handoffs.

The stage-2 frozen set, stage handoffs with zero missing keys, stage-3 objectives, and pretrained checkpoints loading
into the fine-tuning configs (VL tasks, ImageNet, ADE20K) with no missing key.
"""
import re

import pytest
import torch
from mmengine.config import Config

from beitmm.checkpoint import IncompleteCheckpointError
from beitmm.models.algorithms.vlmo_pretrain import VLMO_TEXT_STAGE_TRAINABLE
from beitmm.registry import MODELS
from beitmm.testing.pretrain_models import stream_batch, tiny_beit_backbone, tiny_mdm, tiny_vlmo
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import TINY_BEIT3, TINY_VLMO

# VLMo run.py (textmlm): trainable iff the name contains one of its 7 keys. Written out for the tiny VLMo (2 blocks):
STAGE2_TRAINABLE = {
    'backbone.text_embeddings.word_embeddings.weight', 'backbone.text_embeddings.token_type_embeddings.weight',
    'backbone.text_embeddings.LayerNorm.weight', 'backbone.text_embeddings.LayerNorm.bias',
    'backbone.token_type_embeddings.weight', 'backbone.relative_position_bias_table',
    'backbone.transformer.norm.weight', 'backbone.transformer.norm.bias',
    'mlm_score.bias', 'mlm_score.transform.dense.weight', 'mlm_score.transform.dense.bias',
    'mlm_score.transform.LayerNorm.weight', 'mlm_score.transform.LayerNorm.bias', 'mlm_score.decoder.weight',
    *(f'backbone.transformer.blocks.{i}.{m}.{p}' for i in range(2) for m, ps in (
        ('mlp_text', ('fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias')), ('norm2_text', ('weight', 'bias')))
      for p in ps)}
FROZEN_PARTS = ('attn.qkv.weight', 'attn.q_bias', 'attn.v_bias', 'attn.proj.weight', 'norm1.weight', 'gamma_1',
                'gamma_2', 'mlp_imag.fc1.weight', 'norm2_imag.weight')


@pytest.fixture(scope='module')
def stage1(tmp_path_factory):
    """A BEiT pretraining (MaskedImageModeling) checkpoint: backbone.* plus the MIM head."""
    torch.manual_seed(0)
    beit = MODELS.build(tiny_beit_backbone())
    beit.init_weights()
    path = str(tmp_path_factory.mktemp('vlmo') / 'stage1.pth')
    state = {'backbone.' + k: v for k, v in beit.state_dict().items()}
    torch.save(dict(state_dict=dict(state, **{'head.fc.weight': torch.zeros(16, 32)})), path)
    return path, beit.state_dict()


def _stage2(checkpoint):
    return MODELS.build(dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(vlffn_start=2),
                             loss_weights=dict(textmlm=1.), trainable=VLMO_TEXT_STAGE_TRAINABLE,
                             init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))


def test_stage2_freezes_vlmo_frozen_set_logs_it_and_trains_only_the_text_side(stage1, tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr('beitmm.models.algorithms.vlmo_pretrain.print_log', lambda msg, **kw: logged.append(msg))
    model = _stage2(stage1[0])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == STAGE2_TRAINABLE
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    for part in FROZEN_PARTS + ('transformer.patch_embed.proj.weight', 'transformer.cls_token'):
        assert any(n.endswith(part) for n in frozen), part
    assert len(logged) == 1 and 'blocks.*.mlp_imag.fc1.weight' in logged[0]  # logged at build time
    assert 'backbone.transformer.patch_embed.proj.weight' in logged[0].split('trained:')[0]
    model.init_weights()
    beit = stage1[1]
    blocks = model.backbone.transformer.blocks
    torch.testing.assert_close(blocks[1].mlp_imag.fc1.weight, beit['blocks.1.mlp.fc1.weight'])
    torch.testing.assert_close(blocks[0].attn.qkv.weight, beit['blocks.0.attn.qkv.weight'])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.)
    out = model(**model.data_preprocessor(stream_batch(streams=('text', )), True))
    out['loss_textmlm'].backward()
    opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= STAGE2_TRAINABLE
    assert 'backbone.transformer.blocks.0.mlp_text.fc1.weight' in changed


def test_stage2_without_vision_experts_or_checkpoint_stops_with_a_clear_error(stage1, tmp_path):
    state = torch.load(stage1[0])['state_dict']
    path = str(tmp_path / 'no_vision.pth')
    torch.save(dict(state_dict={k: v for k, v in state.items() if '.mlp.' not in k and 'norm2' not in k}), path)
    with pytest.raises((ValueError, IncompleteCheckpointError), match='mlp_imag'):
        _stage2(path).init_weights()
    model = MODELS.build(dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(vlffn_start=2),
                              loss_weights=dict(textmlm=1.), trainable=VLMO_TEXT_STAGE_TRAINABLE))
    with pytest.raises(ValueError, match="model.init_cfg=dict\\(type='Pretrained'"):
        model.init_weights()


def test_stage3_loads_stage2_with_fresh_vl_experts_and_logs_itc_itm_mlm(stage1, tmp_path):
    s2 = _stage2(stage1[0])
    s2.init_weights()
    path2 = str(tmp_path / 'stage2.pth')
    torch.save(dict(state_dict=s2.state_dict()), path2)
    torch.manual_seed(1)
    s3 = MODELS.build(dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(), loss_weights=dict(itc=1, itm=1, mlm=1),
                           init_cfg=dict(type='Pretrained', checkpoint=path2)))
    s3.init_weights()  # raises IncompleteCheckpointError on any missing key the checkpoint should hold
    state2, state3 = s2.state_dict(), s3.state_dict()
    for k, v in state2.items():
        if not k.endswith('position_ids'):
            torch.testing.assert_close(state3[k], v, msg=k)  # every stage-2 weight (MLM head included) copied
    blk = s3.backbone.transformer.blocks[1]
    for other in (blk.mlp_text, blk.mlp_imag):  # VLMo copies neither expert into the VL expert
        assert not torch.equal(blk.mlp_vl.fc1.weight, other.fc1.weight)
    unused = s3.backbone.text_embeddings.position_embeddings.weight
    assert all(p.requires_grad for p in s3.parameters() if p is not unused)  # stage 3 freezes nothing
    out = s3(**s3.data_preprocessor(stream_batch(streams=('pair', )), True))
    assert {'loss_itc', 'loss_itm', 'loss_mlm', 'itc_acc', 'itc_vl_acc', 'itm_acc', 'mlm_acc', 'logit_scale',
            'logit_vl_scale'} <= set(out)
    torch.testing.assert_close(out['logit_scale'], torch.tensor(1 / 0.07))
    assert 0 <= float(out['itm_acc']) <= 100
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    assert blk.mlp_vl.fc1.weight.grad is not None and s3.itc_vl_image_proj.fc.weight.grad is not None
    path3 = str(tmp_path / 'stage3.pth')
    torch.save(dict(state_dict=s3.state_dict()), path3)
    for name in ('vlmo/vlmo-b_vqav2.py', 'vlmo/vlmo-b_coco-retrieval.py'):
        _load_finetune_backbone(name, path3, arch=TINY_VLMO, rel_pos_text_len=40)


def test_stage3_itc_matches_a_hand_computed_infonce():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(), loss_weights=dict(itc=1.)))
    model.init_weights()
    pair = model.data_preprocessor(stream_batch(streams=('pair', )), True)['pair']
    out = model(pair=pair)
    bb = model.backbone

    def emb(hidden, proj):
        x = proj.fc.weight @ hidden[:, 0].t()
        return (x / x.norm(dim=0)).t()
    vl_i, i = bb(image=pair['img'], vl_branch=True)
    vl_t, t = bb(text=pair['text_ids'], text_padding_mask=pair['padding_mask'], vl_branch=True)
    labels = torch.arange(3)

    def nce(a, b):
        s = a @ b.t() / 0.07
        return (torch.nn.functional.cross_entropy(s, labels) + torch.nn.functional.cross_entropy(s.t(), labels)) / 2
    ref = (nce(emb(i, model.itc_image_proj), emb(t, model.itc_text_proj))
           + nce(emb(vl_i, model.itc_vl_image_proj), emb(vl_t, model.itc_vl_text_proj))) / 2
    torch.testing.assert_close(out['loss_itc'], ref, rtol=1e-4, atol=1e-5)


def _load_finetune_backbone(name, checkpoint, **override):
    cfg = Config.fromfile(config_path(name))
    bb = dict(cfg.model.backbone)
    bb.update(img_size=32, patch_size=16, vocab_size=160, drop_path_rate=0.,
              init_cfg=dict(type='Pretrained', checkpoint=checkpoint), **override)
    if 'max_text_len' in bb:
        bb['max_text_len'] = 40
    if 'out_indices' in bb:
        bb['out_indices'] = (0, 1)
    backbone = MODELS.build(bb)
    backbone.init_weights()  # IncompleteCheckpointError on any missing backbone key
    return backbone


def test_mdm_checkpoints_load_into_vl_imagenet_and_ade20k_configs(tmp_path):
    torch.manual_seed(0)
    beit3 = MODELS.build(tiny_mdm('beit3'))
    beit3.init_weights()
    path = str(tmp_path / 'beit3_mdm.pth')
    torch.save(dict(state_dict=beit3.state_dict()), path)
    for name in ('beit3/beit3-b_vqav2.py', 'beit3/beit3-b_coco-retrieval.py', 'beit3/beit3-b_in1k.py',
                 'beit3/upernet_beit3-b_ade20k.py'):
        bb = _load_finetune_backbone(name, path, arch=TINY_BEIT3, max_text_positions=66)
        key = 'encoder.layers.1.ffn.A.fc1.weight'
        torch.testing.assert_close(bb.state_dict()[key], beit3.backbone.state_dict()[key])
    vlbeit = MODELS.build(tiny_mdm('vlbeit'))
    vlbeit.init_weights()
    path = str(tmp_path / 'vlbeit_mdm.pth')
    torch.save(dict(state_dict=vlbeit.state_dict()), path)
    bb = _load_finetune_backbone('vlmo/vlmo-b_vqav2.py', path, arch=TINY_VLMO, rel_pos_text_len=40)
    key = next(k for k in bb.state_dict() if re.search(r'blocks\.1\.mlp_vl\.fc1\.weight', k))
    torch.testing.assert_close(bb.state_dict()[key], vlbeit.backbone.state_dict()[key])


class _VLMoMLMHead(torch.nn.Module):
    """VLMo's ``heads.MLMHead`` (heads.py:40-52) as ``vlmo_module.py:140-142`` builds it (no weight passed: untied).

    BertPredictionHeadTransform (dense, exact GELU, LayerNorm eps 1e-12), a bias-free decoder, then a separate bias.
    """

    def __init__(self, dim, vocab):
        super().__init__()
        self.dense, self.norm = torch.nn.Linear(dim, dim), torch.nn.LayerNorm(dim, eps=1e-12)
        self.decoder, self.bias = torch.nn.Linear(dim, vocab, bias=False), torch.nn.Parameter(torch.randn(vocab))

    def forward(self, x):
        return self.decoder(self.norm(torch.nn.functional.gelu(self.dense(x)))) + self.bias

    def vlmo_state(self):
        return {'mlm_score.transform.dense.weight': self.dense.weight, 'mlm_score.transform.dense.bias':
                self.dense.bias, 'mlm_score.transform.LayerNorm.weight': self.norm.weight,
                'mlm_score.transform.LayerNorm.bias': self.norm.bias, 'mlm_score.decoder.weight':
                self.decoder.weight, 'mlm_score.bias': self.bias}


def test_mlm_head_is_vlmos_untied_head_and_loads_its_decoder():
    from beitmm.checkpoint import load_model_checkpoint
    torch.manual_seed(0)
    ref = _VLMoMLMHead(32, 160)
    with torch.no_grad():
        ref.norm.weight.add_(torch.randn(32))
    model = MODELS.build(dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(), loss_weights=dict(mlm=1.)))
    model.init_weights()
    backbone = {k: v for k, v in model.backbone.state_dict().items()}  # VLMo's own key names
    converted = load_model_checkpoint(model, {'state_dict': {**backbone, **ref.vlmo_state()}})
    assert 'mlm_score.decoder.weight' in converted  # loaded, not dropped
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.mlm_score(x), ref(x))
        model.backbone.text_embeddings.word_embeddings.weight.add_(1.)  # untied: the embedding is another weight
        torch.testing.assert_close(model.mlm_score(x), ref(x))
    # a beitmm checkpoint of the former tied head has no decoder: it gets the word embedding, i.e. the same head
    tied = {k: v for k, v in ref.vlmo_state().items() if 'decoder' not in k}
    load_model_checkpoint(model, {'state_dict': {**backbone, **tied}})
    words = backbone['text_embeddings.word_embeddings.weight']
    with torch.no_grad():
        expected = torch.nn.functional.linear(ref.norm(torch.nn.functional.gelu(ref.dense(x))), words, ref.bias)
        torch.testing.assert_close(model.mlm_score(x), expected)


def test_stage3_gathers_itc_as_vlmo_by_default():
    model = MODELS.build(dict(type='beitmm.VLMoPretraining', backbone=tiny_vlmo(), loss_weights=dict(itc=1.)))
    assert model.gather_grad is False  # VLMo objectives.compute_itc: all_gather without gradient
    assert Config.fromfile(config_path('vlmo/vlmo-b_pretrain-stage3_pairs.py')).model.gather_grad is False
