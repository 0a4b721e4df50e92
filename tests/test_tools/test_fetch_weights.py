"""tools/misc/fetch_weights.py: address and expected path of a zoo entry, sha256 checks; never the network."""
import dataclasses
import os.path as osp
import runpy
import subprocess
import sys

import pytest

from beitmm.apis.model_zoo import model_entry
from beitmm.testing.shrink import ROOT

TOOL = osp.join(ROOT, 'tools', 'misc', 'fetch_weights.py')
ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'  # FIPS 180-2 test vector, b'abc'


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(TOOL)  # its functions; main() is not run (__name__ is not '__main__')


def test_prints_the_address_and_the_path_the_config_reads(tool, tmp_path, capsys):
    assert tool['main'](['beit3-base_vqav2', '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'url:       https://github.com/addf400/files/releases/download/beit3/beit3_base_patch16_480_vqa.pth' in out
    assert f'expected:  {tmp_path}/beit3_base_patch16_480_vqa.pth' in out
    assert 'sha256:    none published' in out and 'not downloaded yet' in out
    assert 'tokenizer: data/beit3/beit3.spm from https://github.com/addf400/files/releases/download/beit3/beit3.spm' \
        in out
    # the sub-folders the configs read: pretrain/vqkd/ (beitv2 pretraining), a folder per Hugging Face model
    for name, rel in [('vqkd_encoder_base_decoder_1x768x12_dino-663c55d7', 'vqkd/vqkd_encoder_base_decoder_1x768x12_'
                       'dino-663c55d7.pth'), ('electra-small-discriminator', 'electra-small-discriminator/'
                                                                             'pytorch_model.bin')]:
        assert tool['expected_path'](model_entry(name), str(tmp_path)) == osp.join(str(tmp_path), rel)


def test_unknown_name_exits_2_with_the_closest_names(tool, capsys):
    assert tool['main'](['beit3-bse_vqav2']) == 2
    assert 'did you mean beit3-base_vqav2' in capsys.readouterr().err
    # the real command line too (exit status of the process)
    proc = subprocess.run([sys.executable, TOOL, 'vlmo-bas_vqa'], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and 'vlmo-base_vqav2' in proc.stderr


def test_verify_hashes_the_file_and_reports_that_no_hash_is_published(tool, tmp_path, capsys):
    f = tmp_path / 'x.pth'
    f.write_bytes(b'abc')
    assert tool['main'](['beit-base-pt22k', '--verify', str(f)]) == 0
    out = capsys.readouterr().out
    assert f'sha256:    {ABC_SHA256}' in out and '(3 bytes' in out and 'no sha256 is published' in out
    assert tool['main'](['beit-base-pt22k', '--verify', str(tmp_path / 'missing.pth')]) == 4


def test_a_published_hash_is_compared(tool, tmp_path, capsys, monkeypatch):
    entry = model_entry('beit-base-pt22k')
    f = tmp_path / 'beit_base_patch16_224_pt22k.pth'  # at the expected path: verified without --verify
    f.write_bytes(b'abc')
    main = tool['main']
    monkeypatch.setitem(main.__globals__, 'model_entry', lambda name: dataclasses.replace(entry, sha256=ABC_SHA256))
    assert main(['beit-base-pt22k', '--out', str(tmp_path)]) == 0
    assert 'sha256 matches the published hash' in capsys.readouterr().out
    f.write_bytes(b'abd')
    assert main(['beit-base-pt22k', '--out', str(tmp_path)]) == 1
    assert 'MISMATCH' in capsys.readouterr().err


def test_the_hub_style_name_suffix_is_checked_as_a_hint_only(tool, tmp_path, capsys):
    f = tmp_path / 'vqkd' / 'vqkd_encoder_base_decoder_3x768x12_clip-d5036aa7.pth'
    f.parent.mkdir()
    f.write_bytes(b'abc')  # sha256 ba7816bf..., not d5036aa7...
    assert tool['main'](['beitv2-vqkd-clip-decoder3', '--out', str(tmp_path)]) == 0
    assert 'NOT consistent with this file' in capsys.readouterr().out


def test_download_writes_the_expected_path_and_lists(tool, tmp_path, capsys):
    src = tmp_path / 'src.bin'
    src.write_bytes(b'abc')
    dst = tmp_path / 'out' / 'sub' / 'file.pth'
    tool['download'](src.as_uri(), str(dst))  # a file:// address: urllib's path without the network
    assert dst.read_bytes() == b'abc' and not osp.exists(f'{dst}.part')
    assert tool['main'](['--list', 'vlmo-large']) == 0
    assert capsys.readouterr().out.split() == ['vlmo-large', 'vlmo-large-stage2', 'vlmo-large_coco-retrieval',
                                               'vlmo-large_flickr30k-retrieval', 'vlmo-large_nlvr2',
                                               'vlmo-large_vqav2']
