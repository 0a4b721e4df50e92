"""VQ-KD quantizer maths, usage statistics, official checkpoint layout and the tokenizer model."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from beitmm.models.tokenizers.quantizer import NormEMAQuantizer, kmeans_cosine, l2norm
from beitmm.registry import MODELS
from beitmm.testing.beitv2 import TINY_CODE_DIM, TINY_CODES, tiny_vqkd, tokenizer_of


def _quantizer(k=4, d=3, **kw):
    q = NormEMAQuantizer(k, d, kmeans_init=False, dead_code_threshold=0., **kw)
    q.embedding.weight.copy_(l2norm(torch.eye(k, d) + 0.1))
    return q


def test_quantize_picks_highest_cosine_with_unit_codes_and_straight_through():
    q = _quantizer().eval()
    z = torch.tensor([[[5., 0.1, 0.], [0., -1., 0.], [0., 0., 0.2]]], requires_grad=True)  # [1, 3, 3]
    z_q, loss, ids = q(z)
    cos = l2norm(z.detach()) @ q.embedding.weight.t()
    assert ids.tolist() == cos.argmax(-1).tolist() and ids.shape == (1, 3)
    torch.testing.assert_close(z_q.detach().norm(dim=-1), torch.ones(1, 3))
    torch.testing.assert_close(z_q.detach(), q.embedding.weight[ids])
    # commitment loss = mean squared distance between the unit input and its code
    torch.testing.assert_close(loss, F.mse_loss(q.embedding.weight[ids], l2norm(z.detach())))
    g = torch.randn(1, 3, 3)
    (z_q * g).sum().backward()  # straight-through: d z_q / d l2norm(z) = identity
    zz = z.detach().clone().requires_grad_(True)
    (l2norm(zz) * g).sum().backward()
    torch.testing.assert_close(z.grad, zz.grad)


def test_ema_update_matches_formula_and_keeps_unused_codes():
    q = _quantizer(k=4, d=3, decay=0.9).train()
    w0 = q.embedding.weight.clone()
    flat = l2norm(torch.tensor([[1., 0.2, 0.], [1., -0.2, 0.], [0., 1., 0.3]]))
    ids = torch.tensor([0, 0, 1])
    q.ema_update(flat, ids)
    mean0 = l2norm(flat[:2].mean(0))
    torch.testing.assert_close(q.embedding.weight[0], l2norm(0.9 * w0[0] + 0.1 * mean0))
    torch.testing.assert_close(q.embedding.weight[1], l2norm(0.9 * w0[1] + 0.1 * flat[2]))
    torch.testing.assert_close(q.embedding.weight[2:], w0[2:])  # unused codes do not move
    torch.testing.assert_close(q.cluster_size, torch.tensor([0.2, 0.1, 0., 0.]))


def _is_lloyd_fixed_point(samples, means):
    assign = (samples @ means.t()).argmax(-1)
    for k in assign.unique():
        assert torch.allclose(means[k], l2norm(samples[assign == k].mean(0)), atol=1e-5)


def test_kmeans_init_converges_on_first_training_batch_only():
    torch.manual_seed(0)
    centres = l2norm(torch.tensor([[1., 0., 0.], [0., 1., 0.], [0., 0., 1.], [-1., -1., 0.]]))
    samples = l2norm(centres.repeat_interleave(50, 0) + 0.05 * torch.randn(200, 3))
    means, bins = kmeans_cosine(samples, 4, num_iters=10)
    torch.testing.assert_close(means.norm(dim=-1), torch.ones(4))
    assign = (samples @ means.t()).argmax(-1)
    assert bins.sum() == 200 and torch.equal(bins, torch.bincount(assign, minlength=4).float())
    _is_lloyd_fixed_point(samples, means)  # converged spherical k-means (cosine assignment, unit means)
    # one cluster per code when each code starts in a different cluster
    means, bins = kmeans_cosine(samples[::50].repeat(1, 1), 4, num_iters=1)
    assert torch.equal(bins, torch.ones(4))
    q = NormEMAQuantizer(4, 3, kmeans_init=True, dead_code_threshold=0.)
    assert not bool(q.embedding.initted) and q.embedding.weight.abs().sum() == 0
    q.eval()(samples[None])  # eval: no initialisation
    assert not bool(q.embedding.initted)
    q.train()(samples[None])
    assert bool(q.embedding.initted)
    torch.testing.assert_close(q.cluster_size.sum(), torch.tensor(200.))
    w = q.embedding.weight.clone()
    q.train()(l2norm(torch.randn(1, 10, 3)))  # second batch: EMA step, not a new k-means
    assert (q.embedding.weight - w).abs().max() < 0.05


def test_dead_codes_restart_onto_batch_vectors():
    torch.manual_seed(0)
    q = NormEMAQuantizer(6, 3, kmeans_init=False, dead_code_threshold=0.1).train()
    q.cluster_size.copy_(torch.tensor([10., 10., 10., 10., 0.5, 0.]))  # mean 6.75 -> codes 4, 5 dead
    flat = l2norm(torch.randn(20, 3))
    n = q.restart_dead_codes(flat)
    assert n == 2 and int(q.restarts) == 2
    for code in q.embedding.weight[4:]:  # each restarted code is one of the batch vectors
        assert torch.isclose((flat @ code), torch.tensor(1.), atol=1e-5).any()
    assert (q.cluster_size[4:] > 0.1 * q.cluster_size.mean()).all()  # grace period
    assert q.restart_dead_codes(flat) == 0
    q.dead_code_threshold = 0.
    q.cluster_size.zero_()
    assert q.restart_dead_codes(flat) == 0  # disabled


def test_usage_counting_and_perplexity():
    q = _quantizer(k=4, d=4).eval()
    q.embedding.weight.copy_(torch.eye(4))
    q(torch.eye(4)[[0, 0, 1, 1]][None])
    s = q.codebook_stats()
    assert (s['used'], s['num_codes'], s['assignments']) == (2, 4, 4)
    assert s['usage'] == 0.5 and s['perplexity'] == pytest.approx(2.0)
    q(torch.eye(4)[[2, 3, 2, 3]][None])
    assert q.codebook_stats()['perplexity'] == pytest.approx(4.0)  # uniform over 4 codes
    q.reset_stats()
    assert q.codebook_stats()['used'] == 0 and q.codebook_stats()['perplexity'] == 0.


def _official_state(model):
    """An official unilm VQ-KD state dict, keyed as beit2/modeling_vqkd.py names it (values random)."""
    C, dt = 32, model.decode_task_layer[-1].out_features
    state = {}
    for part, depth, in_ch, p, n in (('encoder', 2, 3, 16, 5), ('decoder', 1, TINY_CODE_DIM, 1, 5)):
        state.update({f'{part}.cls_token': (1, 1, C), f'{part}.pos_embed': (1, n, C),
                      f'{part}.patch_embed.proj.weight': (C, in_ch, p, p), f'{part}.patch_embed.proj.bias': (C, ),
                      f'{part}.fc_norm.weight': (C, ), f'{part}.fc_norm.bias': (C, )})
        for i in range(depth):
            b = f'{part}.blocks.{i}.'
            state.update({b + 'norm1.weight': (C, ), b + 'norm1.bias': (C, ), b + 'attn.qkv.weight': (3 * C, C),
                          b + 'attn.q_bias': (C, ), b + 'attn.v_bias': (C, ), b + 'attn.proj.weight': (C, C),
                          b + 'attn.proj.bias': (C, ), b + 'norm2.weight': (C, ), b + 'norm2.bias': (C, ),
                          b + 'mlp.fc1.weight': (64, C), b + 'mlp.fc1.bias': (64, ), b + 'mlp.fc2.weight': (C, 64),
                          b + 'mlp.fc2.bias': (C, )})
    state.update({'quantize.embedding.weight': (TINY_CODES, TINY_CODE_DIM), 'quantize.embedding.cluster_size':
                  (TINY_CODES, ), 'quantize.embedding.embed_avg': (TINY_CODES, TINY_CODE_DIM),
                  'quantize.cluster_size': (TINY_CODES, ), 'encode_task_layer.0.weight': (C, C),
                  'encode_task_layer.0.bias': (C, ), 'encode_task_layer.2.weight': (TINY_CODE_DIM, C),
                  'encode_task_layer.2.bias': (TINY_CODE_DIM, ), 'decode_task_layer.0.weight': (C, C),
                  'decode_task_layer.0.bias': (C, ), 'decode_task_layer.2.weight': (dt, C),
                  'decode_task_layer.2.bias': (dt, ), 'teacher_model.visual.proj': (C, dt),
                  'scaling_layer.shift': (1, 3, 1, 1)})
    state = {k: torch.randn(v) for k, v in state.items()}
    state['quantize.embedding.initted'] = torch.tensor([1.])
    return state


def test_official_vqkd_layout_loads_directly(tmp_path):
    model = MODELS.build(tiny_vqkd('beit'))
    official = _official_state(model)
    result = model.load_state_dict(dict(official), strict=False)
    assert result.unexpected_keys == [] and [k for k in result.missing_keys if not k.startswith('teacher.')] == []
    torch.testing.assert_close(model.encoder.norm.weight, official['encoder.fc_norm.weight'])
    torch.testing.assert_close(model.quantize.embedding.weight, official['quantize.embedding.weight'])
    # a file in unilm's wrapping ({'model': ...}) loads as the tokenizer of a pretraining config
    path = str(tmp_path / 'vqkd_official.pth')
    torch.save({'model': official}, path)
    tok = MODELS.build(tokenizer_of(tiny_vqkd('beit'), path))
    assert tok.decoder is None and tok.teacher is None
    torch.testing.assert_close(tok.encoder.blocks[1].attn.qkv.weight, official['encoder.blocks.1.attn.qkv.weight'])
    bad = dict(official, **{'quantize.embedding.weight': torch.randn(TINY_CODES * 2, TINY_CODE_DIM)})
    with pytest.raises(RuntimeError, match='size mismatch'):
        model.load_state_dict(bad, strict=False)


@pytest.mark.parametrize('teacher', ['beit', 'clip'])
def test_vqkd_training_step_and_tokens(teacher):
    torch.manual_seed(0)
    model = MODELS.build(tiny_vqkd(teacher))
    model.init_weights()
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    losses = model(img, mode='loss')
    assert set(losses) == {'loss_quant', 'loss_rec'}
    assert 0 <= losses['loss_rec'].item() <= 2 and torch.isfinite(losses['loss_quant'])
    (losses['loss_quant'] + losses['loss_rec']).backward()
    assert model.encoder.blocks[0].attn.qkv.weight.grad.abs().sum() > 0  # through the straight-through codes
    assert all(p.grad is None for p in model.teacher.parameters())
    assert bool(model.quantize.embedding.initted)
    ids = model.eval()(img)
    assert ids.shape == (2, 2, 2) and ids.dtype == torch.long and int(ids.max()) < TINY_CODES
    assert not any(k.startswith('teacher.') for k in model.state_dict())


def test_trained_checkpoint_is_the_pretraining_target_generator(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(tiny_vqkd('beit'))
    model.init_weights()
    img = torch.rand(4, 3, 32, 32) * 2 - 1
    model(img, mode='loss')
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)  # mmengine checkpoint layout
    resumed = MODELS.build(tiny_vqkd('beit'))  # resuming: no teacher in the file, the teacher keeps its weights
    teacher = {k: v.clone() for k, v in resumed.teacher.state_dict().items()}
    resumed.load_state_dict(model.state_dict(), strict=True)
    assert all(torch.equal(v, resumed.teacher.state_dict()[k]) for k, v in teacher.items())
    mim = MODELS.build(dict(
        type='beitmm.MaskedImageModeling',
        backbone=dict(type='beitmm.BEiT', arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                      img_size=32, out_type='raw', use_mask_token=True, use_rel_pos_bias=False,
                      use_shared_rel_pos_bias=True),
        head=dict(type='beitmm.MIMHead', in_channels=32, out_channels=TINY_CODES),
        target_generator=tokenizer_of(tiny_vqkd('beit'), path)))
    mim.init_weights()  # must not overwrite the loaded tokenizer
    assert torch.equal(mim.targets(img), model.eval().tokenize(img).flatten(1))
    with pytest.raises(RuntimeError, match='cannot be trained'):
        mim.target_generator(img, mode='loss')


def test_kmeans_ema_and_restarts_are_all_reduced_across_ranks(tmp_path):
    import torch.multiprocessing as mp

    from .quantizer_dist_worker import two_rank_worker
    out = str(tmp_path / 'out.pth')
    mp.spawn(two_rank_worker, args=(str(tmp_path / 'init'), out), nprocs=2, join=True)
    res = torch.load(out, weights_only=True)
    torch.testing.assert_close(res['weights'][0], res['weights'][1])  # one codebook on every rank
    torch.testing.assert_close(res['clusters'][0], res['clusters'][1])  # same EMA statistics and restarts
    assert res['stats']['assignments'] == 2 * 2 * 30  # train + eval pass, both ranks counted
    # the k-means cluster sizes cover both ranks' samples
    torch.testing.assert_close(res['kmeans_bins'].sum(), torch.tensor(60.))


def test_vqkd_task_layers_trunc_normal_zero_bias_after_init_weights():
    """Task layers as unilm ``beit2/modeling_vqkd.py`` initialises them.

    ``encode_task_layer.apply(self._init_weights)`` and the same for ``decode_task_layer``:
    ``trunc_normal_(m.weight, std=.02)`` (timm's, bounds +-2) and zero biases.
    """
    torch.manual_seed(0)
    model = MODELS.build(tiny_vqkd('beit'))
    for layer in (model.encode_task_layer, model.decode_task_layer):
        assert isinstance(layer[0], nn.Linear) and isinstance(layer[1], nn.Tanh) and isinstance(layer[2], nn.Linear)
        assert all((m.bias != 0).any() for m in (layer[0], layer[2]))  # PyTorch default before init_weights
    model.init_weights()
    weights = []
    for layer in (model.encode_task_layer, model.decode_task_layer):
        for lin in (layer[0], layer[2]):
            assert torch.equal(lin.bias, torch.zeros_like(lin.bias))
            weights.append(lin.weight.detach().flatten())
    w = torch.cat(weights)
    assert w.std().item() == pytest.approx(0.02, rel=0.1)  # untruncated at +-2 for std 0.02
    assert w.abs().max() < 0.02 * 6 and w.abs().max() > 0.02 * 2.5  # normal tails, not uniform +-1/sqrt(32)


def test_loaded_tokenizer_is_not_reinitialised(tmp_path):
    torch.manual_seed(0)
    trained = MODELS.build(tiny_vqkd('beit'))
    with torch.no_grad():
        for p in trained.parameters():
            p.copy_(torch.randn_like(p))  # weights no init produces
    trained.quantize.embedding.initted.fill_(1.)
    path = str(tmp_path / 'vqkd.pth')
    torch.save({'state_dict': trained.state_dict()}, path)
    tok = MODELS.build(tokenizer_of(tiny_vqkd('beit'), path))
    tok.init_weights()  # as MaskedImageModeling.init_weights() reaches it
    expected = {k: v for k, v in trained.state_dict().items() if not k.startswith(('decoder.', 'decode_task_layer.'))}
    state = tok.state_dict()
    assert set(state) == set(expected)
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
    assert tok.encode_task_layer[2].weight.shape == (TINY_CODE_DIM, 32)
