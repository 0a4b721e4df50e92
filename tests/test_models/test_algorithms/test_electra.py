"""beitmm.ELECTRA: tied embeddings, labels, no gradient from D to G, BEiT-3 text branch, bad settings, HF weights.

HF ELECTRA checkpoints are transformers' own tiny models saved as .bin and .safetensors, loaded into the
discriminator and compared with transformers' forward.
"""
import pytest
import torch
from mmpretrain.structures import DataSample

from beitmm.registry import MODELS
from beitmm.testing.vl import tiny_backbone, tiny_tokenizer

V = 160
DISC = dict(type='beitmm.BertEncoder', arch='tiny', vocab_size=V, max_position_embeddings=40)
GEN = dict(type='beitmm.BertEncoder', arch=dict(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32),
           embedding_size=32, vocab_size=V, max_position_embeddings=40)
TEXTS = ['a red circle left of a blue square', 'two shapes: a green star and a yellow triangle', 'three shapes']


def _electra(backbone=DISC, generator=GEN, tok='wordpiece', **kw):
    model = MODELS.build(dict(type='beitmm.ELECTRA', backbone=backbone, generator=generator, max_len=16,
                              tokenizer=tiny_tokenizer(tok), **kw))
    model.init_weights()
    return model


def _samples(texts=TEXTS):
    return [DataSample(src=t) for t in texts]


def test_embeddings_tied_and_no_gradient_from_discriminator_to_generator():
    torch.manual_seed(0)
    model = _electra()
    assert model.generator.embeddings.word_embeddings is model.backbone.embeddings.word_embeddings
    assert len({id(p) for p in model.parameters()}) == len(list(model.parameters()))  # the table counted once
    losses = model(data_samples=_samples(), mode='loss')
    losses['loss_rtd'].backward()
    assert all(p.grad is None for p in model.generator.encoder.parameters())
    assert all(p.grad is None for p in model.generator_head.parameters())
    assert model.backbone.embeddings.word_embeddings.weight.grad is not None  # D's own use of the shared table


def test_a_correct_resample_is_labelled_original():
    model = _electra(sampler=dict(type='beitmm.ReplacementSampler', temperature=0.))  # argmax
    red = model.tokenizer.encode_plain('red')
    assert len(red) == 1
    with torch.no_grad():  # the generator always predicts "red"
        model.generator_head.bias.fill_(-50.)
        model.generator_head.bias[red[0]] = 50.
    same = model(data_samples=_samples(['red red red red red red red red'] * 2), mode='loss')
    assert same['resample_correct'] == 1. and same['disc_replaced'] == 0.  # nothing counts as replaced
    other = model(data_samples=_samples(['blue square green star yellow triangle'] * 2), mode='loss')
    assert other['resample_correct'] == 0. and other['disc_acc_replaced'] >= 0.


def test_hardness_and_focal_switch_by_config():
    torch.manual_seed(0)
    plain = _electra()
    hard = _electra(sampler=dict(type='beitmm.ReplacementSampler', mode='hardness'),
                    generator_loss=dict(type='beitmm.FocalMLMLoss', gamma=2.))
    assert plain.hardness_head is None and hard.hardness_head.fc.out_features == V
    assert hard.generator_loss.gamma == 2.
    out = hard(data_samples=_samples(), mode='loss')
    assert {'loss_gen', 'loss_rtd', 'loss_hardness', 'hardness_err', 'resample_correct', 'disc_replaced',
            'disc_kept'} <= set(out)
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    assert hard.hardness_head.fc.weight.grad is not None


@pytest.mark.parametrize('kind', ['beit3', 'vlmo'])
def test_multiway_text_branch_discriminator(kind):
    torch.manual_seed(0)
    backbone = tiny_backbone('beit3', modalities=('language', )) if kind == 'beit3' else tiny_backbone('vlmo')
    model = _electra(backbone=backbone, generator=dict(GEN, vocab_size=160),
                     tok='spm' if kind == 'beit3' else 'wordpiece',
                     sampler=dict(type='beitmm.ReplacementSampler', mode='hardness'))
    words = model.backbone.text_embed if kind == 'beit3' else model.backbone.text_embeddings.word_embeddings
    assert model.generator.embeddings.word_embeddings is words
    out = model(data_samples=_samples(), mode='loss')
    assert torch.isfinite(out['loss_rtd']) and 0 <= out['disc_acc'] <= 1
    (out['loss_rtd'] + out['loss_gen']).backward()
    assert words.weight.grad is not None
    hidden = model(data_samples=_samples(), mode='tensor')  # [B, L, C], padded to the longest text
    assert hidden.shape[0] == 3 and hidden.shape[1] <= 16 and hidden.shape[2] == 32


@pytest.mark.parametrize('kw,words', [
    (dict(generator=dict(GEN, vocab_size=V + 8)), r'generator.vocab_size=168'),
    (dict(generator=dict(GEN, embedding_size=16)), 'generator.embedding_size=32'),
    (dict(mask_prob=0.), 'mask_prob must be in'),
    (dict(generator_loss=dict(type='beitmm.FocalMLMLoss', gamma=-1.)), 'gamma must be >= 0'),
])
def test_bad_settings_raise_naming_them(kw, words):
    with pytest.raises(ValueError, match=words):
        _electra(**kw)


@pytest.mark.parametrize('fmt', ['bin', 'safetensors'])
def test_hf_electra_discriminator_loads_with_its_head(tmp_path, fmt):
    transformers = pytest.importorskip('transformers')
    torch.manual_seed(0)
    config = transformers.ElectraConfig(vocab_size=V, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=40,
                                        hidden_act='gelu', attn_implementation='eager')
    hf = transformers.ElectraForPreTraining(config).eval()
    if fmt == 'bin':
        path = str(tmp_path / 'pytorch_model.bin')
        torch.save(hf.state_dict(), path)
    else:
        hf.save_pretrained(tmp_path / 'hf')  # model.safetensors, HF's default
        path = str(tmp_path / 'hf' / 'model.safetensors')
    disc = dict(DISC, embedding_size=16, init_cfg=dict(type='Pretrained', checkpoint=path))
    model = _electra(backbone=disc, generator=dict(GEN, embedding_size=16)).eval()
    # the whole discriminator with its RTD head, by the 'bert' converter (as load_from does)
    from beitmm.checkpoint import converter_for
    from beitmm.checkpoint.io.safe_load import load_checkpoint_file
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    state, report = converter_for(model.backbone).convert_model(load_checkpoint_file(path), shapes, 'backbone.',
                                                                model.backbone.checkpoint_target())
    model.load_state_dict(state, strict=False)
    ids = torch.randint(3, V, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = hf(input_ids=ids).logits  # [B, L]
        hidden = model.backbone(ids)
        assert (hidden - hf.electra(input_ids=ids).last_hidden_state).abs().max() < 1e-5
        assert (model.discriminator_predictions(hidden) - ref).abs().max() < 1e-5
    # the shared token embedding is the checkpoint's (the discriminator's init wins over the generator's)
    assert torch.equal(model.generator.embeddings.word_embeddings.weight,
                       hf.electra.embeddings.word_embeddings.weight)
