import os.path as osp
import subprocess
import sys

import pytest
import torch

from beitmm.models.tokenizers.kmeans import KMeansTokenizer, patch_features

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_patch_features_are_contrast_normalised_and_raster_ordered():
    img = torch.zeros(1, 3, 8, 16)
    img[..., :, 8:] = torch.linspace(0, 1, 8).view(1, 1, 1, 8)  # right patch: a horizontal ramp
    f = patch_features(img, patch_size=8, pool=2, eps=0.0)
    assert f.shape == (1, 2, 12)
    assert torch.all(f[0, 0] == 0) or torch.isnan(f[0, 0]).all()  # flat patch (eps 0 -> 0/0)
    f = patch_features(img, patch_size=8, pool=2, eps=0.1)
    assert torch.allclose(f[0, 0], torch.zeros(12))  # flat patch: zero vector, not amplified noise
    assert torch.allclose(f[0, 1].mean(), torch.tensor(0.), atol=1e-6)
    # pooled ramp: left half darker than right half in every channel and row
    right = f[0, 1].view(3, 2, 2)
    assert torch.all(right[..., 0] < right[..., 1])
    # invariant to brightness and contrast changes of the patch
    assert torch.allclose(patch_features(img * 0.5 + 0.2, 8, 2, eps=0.0)[0, 1],
                          patch_features(img, 8, 2, eps=0.0)[0, 1], atol=1e-5)


def test_colour_tokens_keep_brightness_and_decode_to_it():
    img = torch.zeros(2, 3, 8, 16)
    img[0, 0] = 0.8  # red image
    img[1, 2, :, 8:] = 0.6  # second image: blue right patch
    f = patch_features(img, patch_size=8, pool=2, normalize=False)  # [B, N, 12]
    assert torch.allclose(f[0, :, :4], torch.full((2, 4), 0.8)) and torch.all(f[0, :, 4:] == 0)
    assert torch.all(f[1, 0] == 0) and torch.allclose(f[1, 1, 8:], torch.full((4, ), 0.6))
    tok = KMeansTokenizer(patch_size=8, vocab_size=3, pool=2, normalize=False)
    tok.codebook.copy_(torch.stack([torch.zeros(12), f[0, 0], f[1, 1]]))  # black, red, blue
    ids = tok(img)
    assert ids.tolist() == [[[1, 1]], [[0, 2]]]
    assert torch.allclose(tok.decode(ids), img)  # colour centroids draw the colours back
    # dark and bright red: one contrast-normalised feature, two colour features
    dark = img[:1] * 0.5
    assert torch.allclose(patch_features(dark, 8, 2, eps=0.), patch_features(img[:1], 8, 2, eps=0.), atol=1e-5)
    assert not torch.allclose(patch_features(dark, 8, 2, normalize=False), f[:1])


def test_fit_recovers_clusters_and_tokenizes():
    torch.manual_seed(0)
    # three patch patterns: vertical edge, horizontal edge, diagonal; random brightness / contrast
    base = torch.zeros(3, 3, 8, 8)
    base[0, :, :, 4:] = 1
    base[1, :, 4:, :] = 1
    base[2] = torch.triu(torch.ones(8, 8))
    kinds = torch.randint(0, 3, (64, 2, 2))  # [B, h, w]
    img = base[kinds].permute(0, 3, 1, 4, 2, 5).reshape(64, 3, 16, 16)  # tile patches into 2x2 grids
    img = img * (0.5 + 0.3 * torch.rand(64, 1, 1, 1)) + 0.2 * torch.rand(64, 1, 1, 1)
    tok = KMeansTokenizer(patch_size=8, vocab_size=3, pool=4)
    with pytest.raises(RuntimeError, match='no fitted codebook'):
        tok(img)
    counts = tok.fit([img[:32], img[32:]], iters=10)
    assert counts.sum() == 64 * 4 and (counts > 0).all()
    ids = tok(img)  # [B, 2, 2]
    assert ids.shape == (64, 2, 2) and ids.dtype == torch.long
    # one token per pattern: the mapping pattern -> token is a bijection
    mapping = {(int(k), int(t)) for k, t in zip(kinds.flatten(), ids.flatten(), strict=True)}
    assert len(mapping) == 3 and len({t for _, t in mapping}) == 3
    assert tok.usage(counts)['used'] == 3 and 1.0 < tok.usage(counts)['perplexity'] <= 3.0 + 1e-6


def test_checkpoint_roundtrip_and_shape_errors(tmp_path):
    tok = KMeansTokenizer(patch_size=8, vocab_size=4, pool=2)
    tok.codebook.copy_(torch.randn(4, 12))
    path = str(tmp_path / 'km.pth')
    torch.save(dict(state_dict=dict(codebook=tok.codebook.clone())), path)
    again = KMeansTokenizer(patch_size=8, vocab_size=4, pool=2, checkpoint=path)
    assert torch.equal(again.codebook, tok.codebook)
    with pytest.raises(ValueError, match='vocab_size'):
        KMeansTokenizer(patch_size=8, vocab_size=8, pool=2, checkpoint=path)
    with pytest.raises(ValueError, match='multiple of the patch size'):
        again(torch.rand(1, 3, 12, 16))
    # a colour codebook must not be read as a contrast-normalised one (and vice versa)
    torch.save(dict(state_dict=dict(codebook=tok.codebook.clone()), meta=dict(normalize=False)), path)
    with pytest.raises(ValueError, match='normalize=False, the config asks for normalize=True'):
        KMeansTokenizer(patch_size=8, vocab_size=4, pool=2, checkpoint=path)
    assert KMeansTokenizer(patch_size=8, vocab_size=4, pool=2, normalize=False, checkpoint=path).fitted


def test_fit_tool_writes_a_loadable_codebook(tmp_path, unlabeled_root):
    out = str(tmp_path / 'km.pth')
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/misc/fit_kmeans_tokenizer.py'), unlabeled_root, out,
                           '--patch-size', '16', '--vocab-size', '8', '--view-size', '32', '--iters', '3'],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert 'codes used' in proc.stdout
    tok = KMeansTokenizer(patch_size=16, vocab_size=8, pool=4, checkpoint=out)
    ids = tok(torch.rand(2, 3, 32, 32))
    assert ids.shape == (2, 2, 2) and int(ids.max()) < 8
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/misc/fit_kmeans_tokenizer.py'), unlabeled_root, out,
                           '--patch-size', '16', '--vocab-size', '8', '--view-size', '32', '--iters', '3',
                           '--pool', '2', '--no-normalize'], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    tok = KMeansTokenizer(patch_size=16, vocab_size=8, pool=2, normalize=False, checkpoint=out)
    assert tok.codebook.min() >= 0 and tok.codebook.max() <= 1  # centroids of pixel values in [0, 1]


def test_mim_reconstruction_decodes_kmeans_tokens():
    """The MIM figure tool decodes with the k-means tokenizer itself (a module with buffers only)."""
    from beitmm.registry import MODELS
    from beitmm.testing.shrink import TINY
    from beitmm.visualization import mim_reconstruction
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='beitmm.MaskedImageModeling',
        backbone=dict(type='beitmm.BEiT', arch=TINY, img_size=32, patch_size=8, out_type='raw',
                      use_abs_pos_emb=False, use_shared_rel_pos_bias=True, use_mask_token=True),
        head=dict(type='beitmm.MIMHead', in_channels=TINY['embed_dims'], out_channels=4),
        target_generator=dict(type='beitmm.KMeansTokenizer', patch_size=8, vocab_size=4, pool=2)))
    model.target_generator.fit([torch.rand(4, 3, 32, 32)], iters=2)
    model.eval()
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, :2] = True
    out = mim_reconstruction(model, torch.randn(1, 3, 32, 32), torch.rand(1, 3, 32, 32), mask, model.target_generator)
    assert out['recon_original'].shape == (1, 3, 32, 32) and out['recon_predicted'].shape == (1, 3, 32, 32)
    # visible patches decode from the tokenizer's own ids in both panels
    assert torch.equal(out['recon_predicted'][..., 16:, :], out['recon_original'][..., 16:, :])
    assert torch.equal(out['mixed_ids'][0, 2:], out['original_ids'][0, 2:])
