"""tools/deployment/export_onnx.py: onnxruntime (CPU) on the exported files equals PyTorch within 1e-4.

Tiny shrunk shipped configs with perturbed weights (beitmm.testing.deploy): the BEiT classifier, the UperNet
segmentor (beitmm.FastUPerHead + FCN head; exported by the dynamo exporter, which the TorchScript tracer cannot
replace: its adaptive pooling needs output sizes dividing the input), and the BEiT-3 and VLMo retrieval image / text
encoders. The reference is the PyTorch model loaded from the same checkpoint by beitmm; onnxruntime is an
independent runtime. Each export is checked on inputs other than the ones it was traced with, and dynamic-batch
files on another batch size.
"""
import os.path as osp
import runpy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

from beitmm.deploy.onnx_export import UnsupportedModelError, export_parts, model_kind
from beitmm.testing.deploy import tiny_model_files
from beitmm.testing.shrink import ROOT

TOL = 1e-4


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(osp.join(ROOT, 'tools/deployment/export_onnx.py'))['main']


def _run(x: np.ndarray, path: str, feed: dict) -> np.ndarray:
    return ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, feed)[0]


def test_classifier_dynamic_batch(tool, tmp_path):
    config, ckpt, model = tiny_model_files('cls', str(tmp_path))
    out = str(tmp_path / 'cls.onnx')
    res = tool([config, ckpt, '--out', out, '--dynamic-batch', '--exporter', 'torchscript'])['classifier']
    assert res['exporter'] == 'torchscript' and res['max_abs_diff'] < TOL  # checked on batch 3, traced on batch 2
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert 'mean=[127.5, 127.5, 127.5]' in meta['beitmm_input'] and meta['beitmm_part'] == 'classifier'
    x = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = model(x, mode='tensor')  # [5, 4] class logits
    got = _run(x, out, {'image': x.numpy()})
    print(f'[onnx] classifier: max abs diff {np.abs(got - want.numpy()).max():.2e}, logits up to '
          f'{want.abs().max():.2f}')
    assert got.shape == (5, 4) and np.abs(got - want.numpy()).max() < TOL


def test_other_shape_equals_run_time_resize(tool, tmp_path):
    """--shape 48 on a 32 px model: tables resized at load equal beitmm's run-time resize of the 32 px model."""
    config, ckpt, model = tiny_model_files('cls', str(tmp_path))
    out = str(tmp_path / 'cls48.onnx')
    assert tool([config, ckpt, '--out', out, '--shape', '48', '--exporter', 'torchscript'])['classifier']
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        want = model(x, mode='tensor')  # the 32 px model, position tables resized on the fly
    with pytest.raises(Exception, match='Expected: 1'):  # a static batch of 1 (onnxruntime's message)
        _run(x, out, {'image': x.numpy()})
    got = np.concatenate([_run(x, out, {'image': x[i:i + 1].numpy()}) for i in range(2)])
    assert np.abs(got - want.numpy()).max() < TOL
    with pytest.raises(SystemExit, match='not a multiple of patch_size 16'):
        tool([config, ckpt, '--out', out, '--shape', '40'])


def test_segmentor_per_pixel_logits(tool, tmp_path):
    config, ckpt, model = tiny_model_files('seg', str(tmp_path))
    res = tool([config, ckpt])['segmentor']  # default --out: next to the checkpoint, named after the config
    assert res['path'] == str(tmp_path / 'seg.onnx') and res['exporter'] == 'dynamo'
    assert res['max_abs_diff'] < TOL
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = model.encode_decode(x, [dict(img_shape=(64, 64), pad_shape=(64, 64))])  # [1, 150, 64, 64]
    got = _run(x, res['path'], {'image': x.numpy()})
    print(f'[onnx] segmentor: max abs diff {np.abs(got - want.numpy()).max():.2e}, logits up to '
          f'{want.abs().max():.2f}')
    assert got.shape == (1, 150, 64, 64) and np.abs(got - want.numpy()).max() < TOL


def test_beit3_retrieval_encoders(tool, tmp_path, capsys):
    """Exporter 'auto': dynamo fails on data-dependent checks (padding.any(), token range), TorchScript writes both."""
    config, ckpt, model = tiny_model_files('beit3-retrieval', str(tmp_path))
    res = tool([config, ckpt, '--out', str(tmp_path / 'beit3.onnx')])
    assert res['image']['exporter'] == res['text']['exporter'] == 'torchscript'  # dynamo refuses both (see module)
    assert 'dynamo exporter failed' in capsys.readouterr().out
    assert all(r['max_abs_diff'] < TOL for r in res.values())
    # unpadded texts take the branch the tracer did not see (it recorded the padded one): same embeddings
    ids = torch.randint(4, 100, (1, model.max_text_len), generator=torch.Generator().manual_seed(3))
    pad = torch.zeros_like(ids, dtype=torch.bool)
    with torch.no_grad():
        want = model.text_features(ids, pad)  # [1, C], L2-normalised
    got = _run(None, str(tmp_path / 'beit3_text.onnx'), {'input_ids': ids.numpy(), 'padding_mask': pad.numpy()})
    assert np.abs(got - want.numpy()).max() < TOL and abs(np.linalg.norm(got) - 1) < 1e-5
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        img = model.image_features(x)
    got = _run(None, res['image']['path'], {'image': x.numpy()})
    print(f'[onnx] BEiT-3 retrieval: image {res["image"]["max_abs_diff"]:.2e}, text {res["text"]["max_abs_diff"]:.2e}')
    assert np.abs(got - img.numpy()).max() < TOL


def test_vlmo_retrieval_encoders_dynamic_batch(tool, tmp_path):
    config, ckpt, model = tiny_model_files('vlmo-retrieval', str(tmp_path))
    res = tool([config, ckpt, '--out', str(tmp_path / 'vlmo.onnx'), '--dynamic-batch', '--exporter', 'torchscript'])
    assert sorted(res) == ['image', 'text'] and all(r['max_abs_diff'] < TOL for r in res.values())
    texts = ['a red circle', 'two blue squares above a green star', 'one shape', 'the purple star is left']
    ids, pad = model.tokenize(texts)  # [4, 24] each
    with torch.no_grad():
        want = model.text_features(ids, pad)
    got = _run(None, res['text']['path'], {'input_ids': ids.numpy(), 'padding_mask': pad.numpy()})
    print(f'[onnx] VLMo retrieval: image {res["image"]["max_abs_diff"]:.2e}, text {res["text"]["max_abs_diff"]:.2e}')
    assert got.shape == (4, model.embed_dims) and np.abs(got - want.numpy()).max() < TOL


def test_unsupported_model_type_is_named():
    with pytest.raises(UnsupportedModelError, match=r'Linear cannot be exported.*ImageClassifier.*EncoderDecoder.*'
                       r'DualEncoderRetriever'):
        model_kind(nn.Linear(2, 2))


def test_text_part_of_an_image_model_is_refused(tmp_path):
    _, _, model = tiny_model_files('cls', str(tmp_path))
    with pytest.raises(UnsupportedModelError, match='one graph'):
        export_parts(model, (32, 32), part='text')
