"""The shipped BEiT-3 NLVR2 / ImageNet / captioning configs against independent references of unilm's task models.

NLVR2 and ImageNet: an official-layout state dict (``beit3.*`` + the head) loaded through ``init_model`` and the
shipped config gives the logits of torchscale's BEiT3 (as unilm's builder configures it) + a transcription of
unilm's ``BEiT3ForVisualReasoning`` / ``BEiT3ForImageClassification`` head. Captioning: the loss equals a
transcription of unilm's ``BertCaptioningLoss`` with the recipe's drop-worst gate, and decoding uses 32 tokens in
validation, 64 in testing.
"""
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample
from torch import nn
from torchscale.architecture.config import EncoderConfig
from torchscale.model.BEiT3 import BEiT3 as TorchscaleBEiT3

from beitmm.apis import init_model
from beitmm.checkpoint.load import convert_state_for_model
from beitmm.testing.shrink import config_path
from beitmm.testing.vl import TINY_BEIT3, tiny_tokenizer

C = TINY_BEIT3['embed_dims']
TINY = {'model.backbone.arch': dict(TINY_BEIT3, _delete_=True), 'model.backbone.img_size': 32,
        'model.backbone.vocab_size': 160, 'model.backbone.max_text_positions': 66, 'model.backbone.drop_path_rate': 0.0,
        'model.max_text_len': 12, 'model.backbone.init_cfg': None}
TEXTS = ['the left image has two red shapes', 'a star']


def _torchscale(normalize_output: bool = True) -> TorchscaleBEiT3:
    """The torchscale BEiT3 of unilm's ``_get_base_config`` (modeling_utils.py:18-28) at the tiny width."""
    args = EncoderConfig(img_size=32, patch_size=16, vocab_size=160, multiway=True, layernorm_embedding=False,
                         normalize_output=normalize_output, no_output_layer=True, max_source_positions=66,
                         encoder_embed_dim=C, encoder_attention_heads=TINY_BEIT3['num_heads'],
                         encoder_ffn_embed_dim=TINY_BEIT3['feedforward_channels'],
                         encoder_layers=TINY_BEIT3['num_layers'])
    return TorchscaleBEiT3(args).eval()


class TwoLayerMLP(nn.Module):
    """The NLVR2 head, modeling_finetune.py:18-39: LN(4C) -> Linear(4C, 2C) -> LN(2C) -> GELU -> Linear(2C, 2)."""

    def __init__(self):
        super().__init__()
        self.norm1, self.dense1 = nn.LayerNorm(4 * C), nn.Linear(4 * C, 2 * C)
        self.norm2, self.dense2 = nn.LayerNorm(2 * C), nn.Linear(2 * C, 2)

    def forward(self, x):
        return self.dense2(F.gelu(self.norm2(self.dense1(self.norm1(x)))))


def _perturb(*modules, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.2)


def unilm_nlvr2_logits(beit3, head, pairs, ids, pad):
    """Transcription of unilm ``BEiT3ForVisualReasoning.forward`` (modeling_finetune.py:85-103)."""
    bsz = ids.shape[0]
    out = beit3(textual_tokens=torch.cat([ids, ids]), visual_tokens=torch.cat([pairs[:, 0], pairs[:, 1]]),
                text_padding_position=torch.cat([pad, pad]))
    x, split = out['encoder_out'], out['multiway_split_position']
    rep = torch.cat([x[:, 0], x[:, split]], dim=-1)  # [2B, 2C]: image cls, first text token
    a, b = rep.split([bsz, bsz])
    return head(torch.cat([a, b], dim=-1))


def test_nlvr2_config_loads_the_official_layout_and_gives_unilms_logits(tmp_path):
    ref, head = _torchscale(), TwoLayerMLP()
    _perturb(ref, head)  # every weight, the final encoder.layer_norm.{A,B} included
    state = {f'beit3.{k}': v for k, v in ref.state_dict().items()}
    state.update({f'head.{k}': v for k, v in head.state_dict().items()})
    path = str(tmp_path / 'beit3_tiny_patch16_32_nlvr2.pth')
    torch.save({'model': state}, path)
    model = init_model(config_path('beit3/beit3-b_nlvr2.py'), path,
                       cfg_options=dict(TINY, **{'model.tokenizer': tiny_tokenizer('spm')}))
    assert model.backbone.normalize_output is True  # unilm's NLVR2 builders keep _get_base_config's True
    pairs = torch.randn(2, 2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ids, pad = model.tokenize(TEXTS)
    with torch.no_grad():
        got = model.logits(pairs, TEXTS)
        want = unilm_nlvr2_logits(ref, head, pairs, ids, pad)
        bare = _torchscale(normalize_output=False)
        bare.load_state_dict(ref.state_dict(), strict=False)  # all but the final norm
        without_norm = unilm_nlvr2_logits(bare, head, pairs, ids, pad)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert (without_norm - want).abs().max() > 1e-2  # the final norm matters: the test sees a missing one


def test_in1k_config_loads_the_official_classifier_head(tmp_path):
    """The official ``head.{weight,bias}`` lands in mmpretrain's ``head.fc`` (it was dropped: a random classifier)."""
    ref = _torchscale(normalize_output=False)  # unilm: args.normalize_output = False (modeling_finetune.py:280)
    fc_norm, head = nn.LayerNorm(C), nn.Linear(C, 10)
    _perturb(ref, fc_norm, head, seed=3)
    state = {f'beit3.{k}': v for k, v in ref.state_dict().items()}
    state.update({f'fc_norm.{k}': v for k, v in fc_norm.state_dict().items()})
    state.update({f'head.{k}': v for k, v in head.state_dict().items()})
    path = str(tmp_path / 'beit3_tiny_patch16_32_in1k.pth')
    torch.save({'model': state}, path)
    options = {k: v for k, v in TINY.items() if k.startswith('model.backbone')}
    model = init_model(config_path('beit3/beit3-b_in1k.py'), path,
                       cfg_options=dict(options, **{'model.head.in_channels': C, 'model.head.num_classes': 10}))
    img = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        x = ref(textual_tokens=None, visual_tokens=img)['encoder_out']
        want = head(fc_norm(x[:, 1:].mean(1)))  # BEiT3ForImageClassification.forward (modeling_finetune.py:126-130)
        got = model(img, mode='tensor')
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    # every model key comes from the file: no final norm that torchscale does not build (normalize_output=False)
    converted = convert_state_for_model(model, torch.load(path)['model'])
    assert set(converted) == set(model.state_dict()) and model.backbone.encoder.layer_norm is None


def test_in1k_evaluation_resize_is_unilms_crop_pct_1():
    """The config's test pipeline equals unilm's eval transform: Resize(224, bicubic) + CenterCrop(224)."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from PIL import Image
    from torchvision import transforms
    init_default_scope('mmpretrain')
    steps = Config.fromfile(config_path('beit3/beit3-b_in1k.py')).test_dataloader.dataset.pipeline
    pipe = Compose([s for s in steps if s['type'] in ('ResizeEdge', 'CenterCrop')])
    unilm = transforms.Compose([transforms.Resize(224, interpolation=3), transforms.CenterCrop(224)])  # :792-801
    for w, h in ((300, 250), (250, 333)):
        rgb = np.random.default_rng(w).integers(0, 256, (h, w, 3), dtype=np.uint8)
        ours = pipe(dict(img=rgb[..., ::-1].copy(), img_shape=(h, w), ori_shape=(h, w)))['img'][..., ::-1]
        np.testing.assert_array_equal(ours, np.array(unilm(Image.fromarray(rgb))))


def _captioner(**extra):
    options = dict(TINY, **{'model.tokenizer': tiny_tokenizer('spm')}, **extra)
    model = init_model(config_path('beit3/beit3-b_coco-captioning.py'), cfg_options=options)
    _perturb(model)
    return model


def unilm_captioning_loss(logits, target, step, eps=0.1, drop_worst_ratio=0.2, drop_worst_after=12000):
    """Transcription of unilm ``utils.BertCaptioningLoss.forward`` (utils.py:775-789)."""
    n_class = logits.size(1)
    one_hot = torch.zeros_like(logits).scatter(1, target.view(-1, 1), 1)
    one_hot = one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)
    loss = nn.KLDivLoss(reduction='none')(nn.LogSoftmax(dim=1)(logits), one_hot).sum(1)
    if drop_worst_ratio > 0 and step > drop_worst_after:
        loss, _ = torch.topk(loss, k=int(loss.shape[0] * (1 - drop_worst_ratio)), largest=False)
    return loss.mean()


@pytest.mark.parametrize('step', [0, 12000, 12001, 30000])
def test_captioning_loss_and_drop_worst_gate_equal_unilms(step):
    model = _captioner().train()
    assert (model.drop_worst_ratio, model.drop_worst_after) == (0.2, 12000)  # run_beit3_finetuning.py:186-187
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    samples = [DataSample(gt_caption=c, image_id=i) for i, c in enumerate(TEXTS)]
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', step)  # the Runner's 0-based iteration = unilm's global_step
    try:
        torch.manual_seed(3)
        got = model.loss(images, samples)['loss']
        torch.manual_seed(3)  # replay the same corruption, then unilm's loss on the masked positions
        ids, pad = model.tokenize(TEXTS)
        inputs, masked = model.corrupt(ids, pad)
        logits = model.text_logits(images, inputs, pad)[masked]
        want = unilm_captioning_loss(logits, ids[masked], step)
    finally:
        hub.runtime_info.pop('iter')
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    no_drop = unilm_captioning_loss(logits, ids[masked], 0)
    assert (want < no_drop) == (step > 12000)  # the drop starts after iteration 12000


def test_captioning_decodes_32_tokens_in_validation_and_64_in_testing():
    model = _captioner(**{'model.max_text_len': 32}).eval()
    assert (model.max_text_len, model.test_max_text_len) == (32, 64)
    with torch.no_grad():
        model.mlm_head.bias[model.tokenizer.eos_id] = -1e4  # never ends early: every caption runs to the limit
    seen = []
    search_config = model.search_config
    model.search_config = lambda *a: seen.append(search_config(*a).max_len) or search_config(*a)
    data = dict(inputs=torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8), data_samples=[DataSample(image_id=1)])
    model.val_step(data)
    model.test_step(data)
    assert seen == [31, 63] and model.generate(torch.randn(1, 3, 32, 32), num_beams=1).lengths.tolist() == [63]
