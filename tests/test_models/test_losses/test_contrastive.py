"""The contrastive loss over ranks: BEiT-3's gather with gradients and VLMo's without, on 2 gloo ranks.

Reference: the global-batch InfoNCE on one process. With DDP averaging the ranks' gradients, BEiT-3's form (unilm
``utils.ClipLoss`` / ``gather_features``) gives the global-loss gradient; VLMo's (``objectives.py`` ``compute_itc``
/ ``compute_irtr``: ``all_gather`` without gradient, the whole [Wb, Wb] loss on every rank) gives 1/W of it to the
encoder and the full one to the temperature.
"""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from beitmm.models.losses import contrastive_loss
from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

WORLD, B, D = 2, 3, 8  # ranks, rows per rank, feature width


def _encode(x_img, x_txt, w):
    return F.normalize(x_img @ w.t(), dim=-1), F.normalize(x_txt @ w.t(), dim=-1)  # a shared linear encoder


def _global(x_img, x_txt, w, t):
    """The loss of the whole batch on one process and its gradients for the encoder ``w`` and temperature ``t``."""
    w, t = w.clone().requires_grad_(), t.clone().requires_grad_()
    img, txt = _encode(x_img, x_txt, w)
    logits, labels = t.exp() * img @ txt.t(), torch.arange(x_img.shape[0])
    loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
    loss.backward()
    return loss.detach(), logits.detach(), w.grad, t.grad


def _worker(rank, port, x_img, x_txt, w0, t0, queue):
    torch.set_num_threads(1)  # a forked child: no OpenMP pool inherited from the parent (as DataLoader workers)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=WORLD)
    rows = slice(rank * B, (rank + 1) * B)
    out = {}
    for gather_grad in (True, False):
        w, t = w0.clone().requires_grad_(), t0.clone().requires_grad_()
        img, txt = _encode(x_img[rows], x_txt[rows], w)
        res = contrastive_loss(img, txt, t.exp(), gather_grad)
        res['loss'].backward()
        grads = [w.grad.clone(), t.grad.clone()]
        for g in grads:  # DDP: the mean of the ranks' gradients
            dist.all_reduce(g)
            g /= WORLD
        out[gather_grad] = dict(loss=res['loss'].item(), w=grads[0], t=grads[1], i2t=res['i2t'].detach(),
                                t2i=res['t2i'].detach(), labels=res['labels'])
    dist.destroy_process_group()
    queue.put((rank, {k: {n: v.tolist() if torch.is_tensor(v) else v for n, v in o.items()}  # plain data: the
                      for k, o in out.items()}))  # worker exits before the parent reads (no shared tensors)


def test_vlmo_gather_gives_one_over_w_of_the_encoder_gradient_beit3_gather_all_of_it():
    g = torch.Generator().manual_seed(0)
    x_img, x_txt = torch.randn(WORLD * B, D, generator=g), torch.randn(WORLD * B, D, generator=g)
    w, t = torch.randn(D, D, generator=g), torch.tensor(1.5)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('fork')  # the ranks share the parent's imports: a second, not a spawn's import of beitmm
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, port, x_img, x_txt, w, t, queue)) for r in range(WORLD)]
    for p in procs:
        p.start()
    results = {rank: {k: {n: v if n == 'loss' else torch.tensor(v) for n, v in o.items()} for k, o in out.items()}
               for rank, out in (queue.get(timeout=120) for _ in procs)}
    for p in procs:
        p.join(timeout=60)
    loss, logits, dw, dt = _global(x_img, x_txt, w, t)
    grad = results[0][True]  # BEiT-3: the global-loss gradient; the ranks' losses average to the global one
    torch.testing.assert_close(grad['w'], dw, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad['t'], dt, rtol=1e-5, atol=1e-7)
    assert abs((results[0][True]['loss'] + results[1][True]['loss']) / 2 - loss.item()) < 1e-5
    vlmo = results[0][False]  # VLMo: 1/W to the encoder, all of it to the temperature; each rank the global loss
    torch.testing.assert_close(vlmo['w'], dw / WORLD, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(vlmo['t'], dt, rtol=1e-5, atol=1e-7)
    for rank in range(WORLD):
        assert abs(results[rank][False]['loss'] - loss.item()) < 1e-5
        torch.testing.assert_close(results[rank][True]['w'], results[0][True]['w'])  # one gradient after DDP
        for mode in (True, False):  # this rank's rows of the similarities and their positives (ITM negatives)
            out = results[rank][mode]
            torch.testing.assert_close(out['i2t'], logits[rank * B:(rank + 1) * B], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(out['t2i'], logits.t()[rank * B:(rank + 1) * B], rtol=1e-5, atol=1e-6)
            assert out['labels'].tolist() == list(range(rank * B, (rank + 1) * B))


def test_each_family_gathers_as_its_official_code_by_default():
    from mmengine.config import Config

    from beitmm.testing.shrink import config_path
    kinds = dict(beit3=('spm', True), vlmo=('wordpiece', False))  # unilm ClipLoss / VLMo compute_irtr
    for kind, (tok, with_grad) in kinds.items():
        model = MODELS.build(dict(type='beitmm.DualEncoderRetriever', backbone=tiny_backbone(kind),
                                  tokenizer=tiny_tokenizer(tok)))
        assert model.gather_grad is with_grad
    for name in ('vlmo/vlmo-b_coco-retrieval.py', 'vlmo/vlmo-b_flickr30k-retrieval.py'):
        assert Config.fromfile(config_path(name)).model.gather_grad is False
