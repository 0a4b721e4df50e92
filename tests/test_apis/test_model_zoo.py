"""The model zoo (configs/*/metafile.yml, model-index.yml): every entry against its config, converter and source."""
import os.path as osp
import re
from functools import lru_cache
from urllib.parse import urlparse

import pytest
import torch
from mmengine.config import Config

import beitmm
from beitmm.apis import init_model
from beitmm.apis.model_zoo import WHOLE_MODEL, entry_config, model_config, model_entries, model_entry
from beitmm.checkpoint import converter_for, registered_converters
from beitmm.testing.electra import shrink_electra_config
from beitmm.testing.shrink import ROOT, TINY
from beitmm.testing.vl import TINY_BEIT3, TINY_VLMO, shrink_s2s_config, tiny_tokenizer

ENTRIES = sorted(model_entries().values(), key=lambda e: e.name)
HOSTS = {'github.com': ('/addf400/files/releases/download/', '/wenhui0924/vlmo_ckpts/releases/download/'),
         'unilm.blob.core.windows.net': ('/ckpt/', ), 'huggingface.co': ('/google/', )}
WEIGHT_KEY = re.compile(r'(^|_)checkpoint$')
raw_config = lru_cache(maxsize=None)(Config.fromfile)


def _get(cfg, key: str):
    node = cfg
    for part in key.split('.'):
        node = node.get(part) if isinstance(node, (dict, Config)) else None
    return node


def _weight_paths(node) -> set:
    """Every pretrained-weight path a model config names (init_cfg checkpoints, target generators, teachers)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if WEIGHT_KEY.search(key) and isinstance(value, str):
                found.add(value)
            else:
                found |= _weight_paths(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            found |= _weight_paths(value)
    return found


def tiny(cfg: Config) -> Config:
    """Shrink a zoo config's model to 2 layers x 32 (beitmm.testing's sizes and vocabularies), in place."""
    m = cfg.model
    if m.type.endswith('ELECTRA'):
        return shrink_electra_config(cfg, 'data', 'work_dirs')
    if m.type.endswith('Seq2SeqFinetuner'):
        return shrink_s2s_config(cfg, 'data', 'work_dirs')
    b, kind = m.backbone, m.backbone.type.split('.')[-1]
    if kind == 'BEiT':
        seg = 'decode_head' in m
        b.update(arch=dict(TINY), img_size=(32, 32) if seg else 32)
        if seg:  # as beitmm.testing.shrink.tiny_seg_config
            m.data_preprocessor.size = (32, 32)
            b.out_indices = (0, 0, 1, 1)
            m.decode_head.channels = 16
            if m.get('auxiliary_head'):
                m.auxiliary_head.channels = 8
        if m.get('neck') and 'arch' in m.neck:  # BEiT v2's CLS-pretraining branch
            m.neck.update(arch=dict(TINY), early_layers=1)
        if m.get('target_generator'):  # a VQ-KD (its checkpoint key is kept: the test reads it)
            m.target_generator.encoder.update(arch=dict(TINY), img_size=32)
            m.target_generator.update(num_codes=16, code_dim=8)
            m.head.out_channels = 16
    else:  # BEiT3 / VLMo
        b.update(arch=dict(TINY_BEIT3 if kind == 'BEiT3' else TINY_VLMO), img_size=32, vocab_size=160)
        b.pop('vlffn_start', None)
        if 'tokenizer' in m:
            m.tokenizer = tiny_tokenizer('spm' if kind == 'BEiT3' else 'wordpiece')
        if 'num_labels' in m:  # VQA: 3129 answers take a second to initialise
            m.num_labels = 16
    return cfg


def test_model_index_is_read_by_modelindex_as_mim_does():
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(osp.join(ROOT, 'model-index.yml'))
    index.build_models_with_collections()  # what mmpretrain's ModelHub (and mim) call
    assert sorted(m.name for m in index.models) == [e.name for e in ENTRIES]
    errors = [e for item in index.collect_check_errors() for e in item['errors']]
    assert not errors, errors
    assert {m.in_collection for m in index.models} == {'BEiT', 'BEiT v2', 'BEiT-3', 'VLMo', 's2s-ft', 'ELECTRA'}


def test_the_zoo_holds_every_official_checkpoint_by_family():
    # counted by hand from the official READMEs (unilm beit/, beit2/ (+ PRETRAINING, TOKENIZER,
    # get_started_for_image_classification), beit3/, vlmo/, s2s-ft/, google-research/electra)
    counts = {'BEiT': 4 + 7 + 2 + 1, 'BEiT v2': 4 + 2 + 6 + 4 + 3, 'BEiT-3': 6 + 4 + 5 + 4 + 3 + 3 + 2 + 2,
              'VLMo': 3 + 3 + 4 * 3, 's2s-ft': 3, 'ELECTRA': 1}
    assert {c: sum(e.collection == c for e in ENTRIES) for c in counts} == counts
    assert len(beitmm.list_models('beit3')) == 29 and beitmm.list_models('beit3*') == beitmm.list_models('beit3')
    vqa = beitmm.list_models('beit3*vqav2', exclude_patterns=['*indomain'])
    assert vqa == ['beit3-base_vqav2', 'beit3-large_vqav2']
    assert beitmm.list_models('vlmo', task='NLVR') == ['vlmo-base-plus_nlvr2', 'vlmo-base_nlvr2', 'vlmo-large_nlvr2']
    assert 'beit3-base' in beitmm.list_models(task='null') and 'beit3-base_in1k' not in beitmm.list_models(task='null')
    e = model_entry('BEiT3_base_patch16_480_vqa.pth')  # an official file name finds its entry
    assert e.name == 'beit3-base_vqav2' and e.results[0]['Metrics'] == {'test-dev': 77.65}
    assert e.url == 'https://github.com/addf400/files/releases/download/beit3/beit3_base_patch16_480_vqa.pth'
    with pytest.raises(KeyError, match='did you mean beit3-base_vqav2'):
        model_entry('beit3-base_vqa')


@pytest.mark.parametrize('entry', ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry_fields_match_the_official_address(entry):
    url = urlparse(entry.url)
    assert url.scheme == 'https' and url.netloc in HOSTS and url.path.startswith(HOSTS[url.netloc]), entry.url
    assert osp.basename(url.path) == entry.file == osp.basename(entry.path)
    assert entry.path.startswith('pretrain/') and entry.config.startswith('configs/')
    assert osp.isfile(entry.config_path) and osp.isfile(osp.join(ROOT, 'configs', entry.config.split('/')[1],
                                                                 'README.md'))
    assert entry.sha256 is None or re.fullmatch(r'[0-9a-f]{64}', entry.sha256)
    assert entry.converter in set(registered_converters()) | {'vqkd'} and entry.source
    for r in entry.results:
        assert r['Task'] and r['Dataset'] and all(type(v) in (int, float) for v in r['Metrics'].values()), r
    assert all(d.lower() in model_entries() for d in entry.downstream)
    for key in entry.options:  # options change a module the config has; they add no module
        parent = key.rsplit('.', 1)[0]
        assert isinstance(_get(raw_config(entry.config_path), parent), dict), f'{entry.config}: no {parent}'


def test_every_fine_tuned_entry_starts_from_an_entry_its_config_names():
    parents = {}
    for e in ENTRIES:
        for child in e.downstream:
            parents.setdefault(child, []).append(e)
    for e in ENTRIES:
        if e.load != WHOLE_MODEL:
            assert e.name not in parents, f'{e.name}: a pretrained start has no parent'
            continue
        assert len(parents.get(e.name, [])) == 1, f'{e.name}: fine-tuned from {parents.get(e.name)}'
        parent = parents[e.name][0]
        assert parent.path in _weight_paths(entry_config(e.name).model), (e.name, parent.path)


@pytest.mark.parametrize('entry', ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry_config_names_the_file_builds_tiny_and_has_the_converter(entry):
    cfg = entry_config(entry.name)
    if entry.load != WHOLE_MODEL:  # the config reads the file at the entry's key, at the entry's path
        assert _get(cfg, entry.load) == entry.path
    cfg = tiny(model_config(entry.name))
    assert not _weight_paths(cfg.model)  # no pretrained file is read when none is given
    model = init_model(cfg)
    if entry.converter == 'vqkd':
        assert type(model.target_generator).__name__ == 'VQKD'
    else:
        assert converter_for(model.backbone).name == entry.converter


def _save(state: dict, path) -> str:
    torch.save(state, str(path))
    return str(path)


def test_get_model_loads_a_whole_task_model_as_init_model(tmp_path):
    opts = {'model.backbone.arch': TINY_BEIT3, 'model.backbone.img_size': 32, 'model.backbone.vocab_size': 160,
            'model.tokenizer': tiny_tokenizer('spm')}
    with pytest.warns(UserWarning, match='no checkpoint: untrained weights'):
        source = beitmm.get_model('beit3-base_vqav2', **opts)
    path = _save({'model': source.state_dict()}, tmp_path / 'beit3_base_patch16_480_vqa.pth')
    model = beitmm.get_model('beit3_base_patch16_480_vqa', checkpoint=path, **opts)
    same = init_model(model_config('beit3-base_vqav2', **opts), path)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value) and torch.equal(same.state_dict()[key], value), key
    with pytest.raises(FileNotFoundError, match='fetch_weights.py beit3-base_vqav2'):
        beitmm.get_model('beit3-base_vqav2', checkpoint=str(tmp_path / 'missing.pth'))


def test_get_model_names_a_missing_vocabulary_and_its_address(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/beit3/beit3.spm here
    with pytest.raises(FileNotFoundError, match='data/beit3/beit3.spm: download https://github.com/addf400/files/'
                                                'releases/download/beit3/beit3.spm'):
        beitmm.get_model('beit3-large_nlvr2')


def test_get_model_reads_an_hf_beit_file_through_the_config_init_cfg(tmp_path):
    transformers = pytest.importorskip('transformers')
    torch.manual_seed(0)
    hf = transformers.BeitModel(transformers.BeitConfig(  # the backbone of configs/beit/beit-b_in1k.py at tiny size
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=32,
        patch_size=16, use_relative_position_bias=True, use_absolute_position_embeddings=False,
        layer_scale_init_value=0.1, use_mean_pooling=True, layer_norm_eps=1e-6)).eval()  # unilm's eps
    path = _save(hf.state_dict(), tmp_path / 'beit_base_patch16_224_pt22k.pth')
    model = beitmm.get_model('beit-base-pt22k', checkpoint=path,
                             **{'model.backbone.arch': TINY, 'model.backbone.img_size': 32})
    assert model.cfg.model.backbone.init_cfg.checkpoint == path
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # mean-pooled patch tokens through fc_norm, both sides
        ours = model.extract_feat(img)[0]
        ref = hf(pixel_values=img).pooler_output
    assert (ours.reshape(ref.shape) - ref).abs().max() < 1e-5


def test_get_model_loads_googles_electra_small_discriminator_architecture(tmp_path):
    transformers = pytest.importorskip('transformers')
    torch.manual_seed(0)
    # ElectraConfig() is google/electra-small-discriminator's architecture (transformers' docstring)
    hf = transformers.ElectraForPreTraining(transformers.ElectraConfig(attn_implementation='eager')).eval()
    path = _save(hf.state_dict(), tmp_path / 'pytorch_model.bin')
    model = beitmm.get_model('electra-small-discriminator', checkpoint=path,  # a 1-layer generator: faster
                             **{'model.tokenizer': tiny_tokenizer('wordpiece'), 'model.generator.arch': dict(
                                 hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)})
    ids = torch.randint(3, 30522, (2, 11), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (model.backbone(ids) - hf.electra(input_ids=ids).last_hidden_state).abs().max() < 1e-5
