"""Tests of the DALL-E tokenizer: official layout, pixel mapping, shapes, freezing, safe loading."""
import io
import os
import pickle
import sys
import types
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from beitmm.checkpoint.io.dalle_pickle import RestrictedUnpickler, load_dalle_file, restricted_pickle
from beitmm.models.tokenizers import DALLETokenizer, map_pixels, unmap_pixels
from beitmm.registry import MODELS

TINY = dict(n_hid=64, n_blk_per_group=1, vocab_size=512, n_init=32)  # official validators: n_hid>=64, vocab>=512


def _conv(n_in: int, n_out: int, kw: int) -> int:
    return n_out * n_in * kw * kw + n_out


def _block(n_in: int, n_out: int, kernels) -> int:
    hid = n_out // 4
    widths = [n_in, hid, hid, hid, n_out]
    res = sum(_conv(widths[i], widths[i + 1], k) for i, k in enumerate(kernels))
    return res + (_conv(n_in, n_out, 1) if n_in != n_out else 0)


def test_official_encoder_decoder_layout():
    """Names and shapes of the default model equal OpenAI's encoder.pkl / decoder.pkl."""
    with torch.device('meta'):  # no memory, no init cost
        model = DALLETokenizer()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {
        'encoder.blocks.input.w': (256, 3, 7, 7),
        'encoder.blocks.input.b': (256, ),
        'encoder.blocks.group_1.block_1.res_path.conv_1.w': (64, 256, 3, 3),
        'encoder.blocks.group_1.block_1.res_path.conv_4.w': (256, 64, 1, 1),
        'encoder.blocks.group_2.block_1.id_path.w': (512, 256, 1, 1),
        'encoder.blocks.group_4.block_2.res_path.conv_3.w': (512, 512, 3, 3),
        'encoder.blocks.output.conv.w': (8192, 2048, 1, 1),
        'decoder.blocks.input.w': (128, 8192, 1, 1),
        'decoder.blocks.group_1.block_1.id_path.w': (2048, 128, 1, 1),
        'decoder.blocks.group_1.block_1.res_path.conv_1.w': (512, 128, 1, 1),
        'decoder.blocks.group_1.block_1.res_path.conv_2.w': (512, 512, 3, 3),
        'decoder.blocks.group_4.block_1.id_path.w': (256, 512, 1, 1),
        'decoder.blocks.output.conv.w': (6, 256, 1, 1),
    }
    for name, shape in expected.items():
        assert shapes[name] == shape, name
    # identity shortcuts hold no parameters (group_1 of the encoder keeps its width)
    assert 'encoder.blocks.group_1.block_1.id_path.w' not in shapes
    assert 'decoder.blocks.group_1.block_2.id_path.w' not in shapes
    # total counts from the official definition, computed independently of the code
    enc = _conv(3, 256, 7) + _conv(2048, 8192, 1)
    n_in = 256
    for width in (256, 512, 1024, 2048):
        for _ in range(2):
            enc += _block(n_in, width, (3, 3, 3, 1))
            n_in = width
    dec = _conv(8192, 128, 1) + _conv(256, 6, 1)
    n_in = 128
    for width in (2048, 1024, 512, 256):
        for _ in range(2):
            dec += _block(n_in, width, (1, 3, 3, 3))
            n_in = width
    assert sum(v.numel() for k, v in model.state_dict().items() if k.startswith('encoder.')) == enc == 53_786_240
    assert sum(v.numel() for k, v in model.state_dict().items() if k.startswith('decoder.')) == dec == 43_829_766
    assert len([k for k in shapes if k.startswith('encoder.')]) == 74
    assert len([k for k in shapes if k.startswith('decoder.')]) == 76


def test_post_gain_and_registry():
    model = MODELS.build(dict(type='beitmm.DALLETokenizer', with_decoder=False, **TINY))
    assert isinstance(model, DALLETokenizer) and model.decoder is None
    assert model.encoder.blocks.group_1.block_1.post_gain == pytest.approx(1 / 4**2)  # 4 groups x 1 block


def test_map_unmap_pixels():
    x = torch.rand(2, 3, 8, 8)
    mapped = map_pixels(x)
    assert torch.allclose(mapped, 0.8 * x + 0.1)
    assert mapped.min() >= 0.1 and mapped.max() <= 0.9
    assert torch.allclose(unmap_pixels(mapped), x, atol=1e-6)
    assert unmap_pixels(torch.tensor([0.0, 1.0])).tolist() == [0.0, 1.0]  # clamped
    assert torch.equal(DALLETokenizer.map_pixels(x), mapped)


def test_indices_decode_shapes_and_freezing():
    torch.manual_seed(0)
    model = DALLETokenizer(**TINY)
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training and not any(m.training for m in model.modules())
    img = torch.rand(2, 3, 32, 24)
    ids = model.get_codebook_indices(img)
    assert ids.shape == (2, 4, 3) and ids.dtype == torch.long
    assert ids.min() >= 0 and ids.max() < 512
    logits = model.encoder(map_pixels(img))
    assert torch.equal(ids, logits.argmax(1))
    assert torch.equal(model(img), ids)
    rec = model.decode(ids)
    assert rec.shape == (2, 3, 32, 24) and rec.min() >= 0 and rec.max() <= 1
    with pytest.raises(ValueError, match='multiple of 8'):
        model.get_codebook_indices(torch.rand(1, 3, 20, 16))
    with pytest.raises(ValueError, match=r'\[0, 512\)'):
        model.decode(torch.full((1, 2, 2), 512))
    with pytest.raises(RuntimeError, match='with_decoder=False'):
        DALLETokenizer(with_decoder=False, **TINY).decode(ids)


def test_bf16_autocast_runs():
    model = DALLETokenizer(with_decoder=False, autocast_dtype='bfloat16', **TINY)
    ids = model.get_codebook_indices(torch.rand(1, 3, 16, 16))
    assert ids.shape == (1, 2, 2) and ids.dtype == torch.long
    with pytest.raises(ValueError, match='autocast_dtype'):
        DALLETokenizer(autocast_dtype='int8', **TINY)


class _Evil:

    def __reduce__(self):
        return os.system, ('touch /tmp/beitmm_pwned_by_pickle',)


def test_restricted_unpickler_blocks_code_execution(tmp_path):
    marker = '/tmp/beitmm_pwned_by_pickle'
    if os.path.exists(marker):
        os.remove(marker)
    payload = pickle.dumps(_Evil())
    with pytest.raises(pickle.UnpicklingError, match='system'):
        RestrictedUnpickler(io.BytesIO(payload)).load()
    path = str(tmp_path / 'encoder.pkl')
    torch.save({'blocks.input.w': torch.zeros(1), 'x': _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        load_dalle_file(path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path, weights_only=False, pickle_module=restricted_pickle)
    assert not os.path.exists(marker)


def _make_fake_dall_e():
    """Modules ``dall_e.utils`` / ``dall_e.encoder`` with the official module structure."""

    class Conv2d(nn.Module):

        def __init__(self, n_in, n_out, kw, use_float16=True):
            super().__init__()
            self.n_in, self.n_out, self.kw, self.use_float16 = n_in, n_out, kw, use_float16
            self.device, self.requires_grad = torch.device('cpu'), False
            self.w = nn.Parameter(torch.randn(n_out, n_in, kw, kw))
            self.b = nn.Parameter(torch.randn(n_out))

    class EncoderBlock(nn.Module):

        def __init__(self, n_in, n_out, n_layers):
            super().__init__()
            self.n_hid, self.post_gain = n_out // 4, 1 / n_layers**2
            self.id_path = Conv2d(n_in, n_out, 1) if n_in != n_out else nn.Identity()
            widths, kernels = [n_in] + [n_out // 4] * 3 + [n_out], (3, 3, 3, 1)
            layers = []
            for i, k in enumerate(kernels):
                layers += [(f'relu_{i + 1}', nn.ReLU()), (f'conv_{i + 1}', Conv2d(widths[i], widths[i + 1], k))]
            self.res_path = nn.Sequential(OrderedDict(layers))

    class Encoder(nn.Module):

        def __init__(self, n_hid=64, n_blk=1, vocab=512):
            super().__init__()
            self.group_count, self.n_hid, self.vocab_size = 4, n_hid, vocab
            layers, n_in = [('input', Conv2d(3, n_hid, 7))], n_hid
            for g in range(4):
                group = []
                for i in range(n_blk):
                    group.append((f'block_{i + 1}', EncoderBlock(n_in, 2**g * n_hid, 4 * n_blk)))
                    n_in = 2**g * n_hid
                if g < 3:
                    group.append(('pool', nn.MaxPool2d(kernel_size=2)))
                layers.append((f'group_{g + 1}', nn.Sequential(OrderedDict(group))))
            out = nn.Sequential(OrderedDict([('relu', nn.ReLU()), ('conv', Conv2d(n_in, vocab, 1, False))]))
            self.blocks = nn.Sequential(OrderedDict(layers + [('output', out)]))

    modules = {name: types.ModuleType(name) for name in ('dall_e', 'dall_e.utils', 'dall_e.encoder')}
    for cls, mod in ((Conv2d, 'dall_e.utils'), (EncoderBlock, 'dall_e.encoder'), (Encoder, 'dall_e.encoder')):
        cls.__module__, cls.__qualname__ = mod, cls.__name__
        setattr(modules[mod], cls.__name__, cls)
    return modules, Encoder


@pytest.mark.filterwarnings("ignore:Couldn't retrieve source code")  # legacy saver, test-local classes
@pytest.mark.parametrize('legacy_format', [False, True])
def test_load_openai_module_pickle(tmp_path, monkeypatch, legacy_format):
    """A torch.save'd whole ``dall_e.encoder.Encoder`` loads without dall_e importable."""
    modules, Encoder = _make_fake_dall_e()
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    torch.manual_seed(0)
    official = Encoder()
    path = str(tmp_path / 'encoder.pkl')
    torch.save(official, path, _use_new_zipfile_serialization=not legacy_format)
    for name in modules:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ModuleNotFoundError):  # a plain torch.load would need dall_e
        torch.load(path, weights_only=False)

    state = load_dalle_file(path)
    assert list(state) == list(official.state_dict())
    assert 'blocks.group_1.block_1.res_path.conv_1.w' in state and 'blocks.output.conv.w' in state
    model = DALLETokenizer(encoder_checkpoint=path, with_decoder=False, **TINY)
    for name, value in official.state_dict().items():
        assert torch.equal(model.state_dict()['encoder.' + name], value), name
    assert not any(p.requires_grad for p in model.parameters())


def test_load_state_dict_files(tmp_path):
    """Mmpretrain's dalle_encoder.pth (``blocks.*``) and beitmm's own keys both load."""
    torch.manual_seed(1)
    source = DALLETokenizer(**TINY)
    enc = {k[len('encoder.'):]: v for k, v in source.state_dict().items() if k.startswith('encoder.')}
    mmpretrain_file = str(tmp_path / 'dalle_encoder.pth')
    torch.save({'state_dict': enc, 'meta': {'note': 'converted'}}, mmpretrain_file)
    own_file = str(tmp_path / 'tokenizer.pth')
    torch.save(source.state_dict(), own_file)
    from_mmpretrain = DALLETokenizer(encoder_checkpoint=mmpretrain_file, with_decoder=False, **TINY)
    from_own = DALLETokenizer(encoder_checkpoint=own_file, decoder_checkpoint=own_file, **TINY)
    img = torch.rand(1, 3, 16, 16)
    ref = source.get_codebook_indices(img)
    assert torch.equal(from_mmpretrain.get_codebook_indices(img), ref)
    assert torch.equal(from_own.decode(ref), source.decode(ref))

    bad = str(tmp_path / 'bad.pth')
    torch.save({'blocks.input.w': torch.zeros(1)}, bad)
    with pytest.raises(RuntimeError, match='missing'):
        DALLETokenizer(encoder_checkpoint=bad, with_decoder=False, **TINY)
    with pytest.raises(ValueError, match='holds DALL-E encoder weights but was given as the decoder'):
        DALLETokenizer(decoder_checkpoint=mmpretrain_file, **TINY)
    with pytest.raises(KeyError, match='No DALL-E encoder weights'):
        torch.save({'state_dict': {'backbone.x': torch.zeros(1)}}, bad)
        DALLETokenizer(encoder_checkpoint=bad, with_decoder=False, **TINY)
