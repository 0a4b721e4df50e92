"""Encrypted THE-X inference (TenSEAL CKKS) against the plaintext approximated model; context checks.

CKKS at N = 8192, [60, 40, 40, 60], scale 2^40 (the parameters derived for the circuit's depth 2): the encrypted
outputs match the plaintext converted model within 1e-3 relative (about 1e-6 measured).
"""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from beitmm.he import (
    CIRCUIT_DEPTH,
    CKKSParams,
    Client,
    HEDepthError,
    HEKeyError,
    Server,
    check_context,
    derive_params,
    encrypted_inference,
    make_context,
    plan_image_classifier,
)
from beitmm.he.plan import plan_block
from beitmm.models.layers import Block
from beitmm.models.the_x import convert_model
from beitmm.registry import MODELS

REL_TOL = 1e-3


@pytest.fixture(scope='module')
def context():
    return make_context(derive_params(CIRCUIT_DEPTH, 192))


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_derive_params_follows_the_security_budget():
    # [60, 40 x d, 60] bits, the smallest N whose 128-bit budget (SEAL: 8192 -> 218, 16384 -> 438, 32768 -> 881) fits
    assert derive_params(2) == CKKSParams(8192, [60, 40, 40, 60], 40)
    assert derive_params(3).poly_modulus_degree == 16384
    assert derive_params(8).poly_modulus_degree == 32768
    assert derive_params(1, slots=5000).poly_modulus_degree == 16384  # 8192 has 4096 slots
    with pytest.raises(HEDepthError, match='refresh more often'):
        derive_params(20)


def test_one_encrypted_block_matches_the_plaintext_block(context):
    torch.manual_seed(0)
    blk = Block(16, 2, 32, window=None, layer_scale_init_value=0.5)
    with torch.no_grad():
        for p in blk.parameters():
            p.normal_(0, 0.3) if p.dim() > 1 else p.normal_(0, 0.1)
    blk = convert_model(blk, extra_known=('Block', )).eval()  # GELU -> ReLU (client), THE-X softmax, affine norms
    with torch.no_grad():
        blk.attn.softmax.scale.fill_(0.8)  # folded into q by the plan
    x = torch.randn(1, 4, 16)
    keep = torch.tensor([True, True, True, False])  # a padded key: multiplicative mask
    with torch.no_grad():
        ref = blk(x.double().float(), None, None, keep[None, None, None, :])[0].double().numpy()
    client = Client(context)
    server = Server(None, client.public_context(), slots=32)  # one block: no whole-model plan
    plan = plan_block(blk, 'blk', None)
    tokens = server._load(client.encrypt(x[0].double().numpy()))
    out = server.block(tokens, plan, client, 'blk', keep.numpy(), refresh=True)
    got = np.stack(client.decrypt(server._dump(out)))
    assert _rel(got, ref) < REL_TOL
    # rounds: refresh, scores, numerator ReLU, 2 reciprocal ReLUs, weights, residual refresh, MLP ReLU
    assert client.wire.round_trips == 8 and client.wire.by_op == {'refresh': 4, 'relu': 4}
    assert client.wire.checked['softmax input'] == 2 * 4 * 4


def _tiny_model(act: dict, layers: int = 2) -> nn.Module:
    """Width 16, 2 heads, 16 px images in 8 px patches (4 patch tokens + cls), relative position bias."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='beitmm.BEiT', arch=dict(embed_dims=16, num_layers=layers, num_heads=2,
                                                    feedforward_channels=32),
                      img_size=16, patch_size=8, layer_scale_init_value=0.5),
        neck=None, head=dict(type='mmpretrain.LinearClsHead', num_classes=4, in_channels=16)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(0, 0.2 if 'relative_position' in name or p.dim() == 1 else 0.1)
    return convert_model(model.eval(), act=act).eval()


def test_tiny_model_encrypted_logits_match_plaintext_with_a_polynomial_gelu(context):
    model = _tiny_model(dict(type='beitmm.THEXPolyGELU', degree=2))
    with torch.no_grad():
        model.backbone.blocks[1].attn.softmax.scale.fill_(0.6)  # folded into q and the position bias
    images = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        ref = model(images, mode='tensor').double().numpy()
    model.backbone.blocks[0].attn.softmax.input_range = (-0.05, 0.05)  # ranges only count: same function
    with pytest.warns(UserWarning, match='outside the approximations.* documented ranges'):
        run = encrypted_inference(model, images, context)
    assert _rel(run.logits, ref) < REL_TOL
    assert 0 < run.wire.out_of_range['softmax input'] <= run.wire.checked['softmax input'] // 2  # block 0 only
    # embed regroup, per block 5 attention trips + residual refresh + polynomial refresh (+ block-input refresh from
    # the second block on), head refresh
    assert run.wire.round_trips == 1 + 7 + 8 + 1 and run.wire.by_op['relu'] == 2 * 3
    assert run.wire.max_ciphertext_bytes > 100_000 and set(run.server_seconds) >= {'embed', 'block1.mlp', 'head'}


def test_a_context_with_too_few_levels_is_refused_before_running():
    shallow = make_context(CKKSParams(4096, [40, 20, 40], 20))
    with pytest.raises(HEDepthError, match=r'needs 2 multiplicative levels .* has 1; use e\.g\. poly_modulus_degree '
                                           r'8192, coeff_mod_bit_sizes \[60, 40, 40, 60\]'):
        encrypted_inference(_tiny_model(dict(type='ReLU'), layers=1), torch.randn(1, 3, 16, 16), shallow)


def test_a_context_without_galois_keys_is_refused():
    ctx = make_context(derive_params(CIRCUIT_DEPTH, 192), galois_keys=False)
    with pytest.raises(HEKeyError, match='no Galois keys'):
        check_context(ctx, CIRCUIT_DEPTH, 192)
    with pytest.raises(HEKeyError, match='no Galois keys'):
        Server(None, Client(ctx).public_context(), slots=16)


def test_unconverted_model_is_refused():
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(type='mmpretrain.ImageClassifier', backbone=dict(
        type='beitmm.BEiT', arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        img_size=16, patch_size=8), neck=None, head=dict(type='mmpretrain.LinearClsHead', num_classes=4,
                                                         in_channels=32)))
    with pytest.raises(TypeError, match='has no THEXSoftmax: convert the model first'):
        plan_image_classifier(model)


def test_text_classifier_on_vlmo_encrypted_matches_plaintext(context):
    from beitmm.he.text import encrypted_text_inference
    from beitmm.testing.vl import TINY_VLMO, tiny_backbone, tiny_tokenizer
    torch.manual_seed(0)
    backbone = dict(tiny_backbone('vlmo'), arch=dict(TINY_VLMO, num_layers=1, vlffn_start=1))
    model = MODELS.build(dict(type='beitmm.TextClassifier', num_classes=3, backbone=backbone,
                              tokenizer=tiny_tokenizer('wordpiece')))
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'relative_position' in name:
                p.normal_(0, .3)
    model = convert_model(model.eval()).eval()
    text = 'a red circle'
    with torch.no_grad():
        ref = model.logits([text]).double().numpy()
    run = encrypted_text_inference(model, [text], context)
    assert _rel(run.logits, ref) < REL_TOL
    assert run.wire.round_trips == 7 + 2  # one block (fresh input) + head refresh + pooler ReLU
