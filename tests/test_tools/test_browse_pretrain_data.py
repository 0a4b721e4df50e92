"""tools/analysis_tools/browse_pretrain_data.py draws a step of a pretraining config and reports its masking."""
import importlib.util
import os.path as osp

from mmengine.config import Config
from PIL import Image

from beitmm.testing.shrink import ROOT
from beitmm.testing.synthetic_pretrain import make_pretrain_data, shrink_pretrain_config
from beitmm.testing.vl import tiny_tokenizer


def _tool():
    spec = importlib.util.spec_from_file_location('browse_pretrain_data',
                                                  osp.join(ROOT, 'tools', 'analysis_tools', 'browse_pretrain_data.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_browse_draws_every_stream_and_reports_the_ratios(tmp_path, capsys):
    data = make_pretrain_data(str(tmp_path / 'data'), num_pairs=8, num_images=4, num_texts=6, img_size=64,
                              num_shards=2)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/vl_pretrain_beit3.py'))
    shrink_pretrain_config(cfg, data, tiny_tokenizer('spm'), img_size=64, counts=dict(image=2, text=2, pair=3))
    cfg.dump(str(tmp_path / 'cfg.py'))
    _tool().main([str(tmp_path / 'cfg.py'), '--steps', '3', '--out', str(tmp_path / 'out')])
    out = capsys.readouterr().out
    # 4 x 4 patch grid: round(75 / 196 * 16) = 6 masked patches = 0.375 of them, in both image streams
    assert 'step 3: image 2, text 2, pair 3, image_masked_patches 0.38' in out and 'pair_masked_patches 0.38' in out
    with Image.open(tmp_path / 'out' / 'step_000003.png') as img:
        assert img.size[0] > 500 and img.size[1] > 500


def test_masked_text_marks_each_corruption():
    from beitmm.registry import TEXT_TOKENIZERS
    tok = TEXT_TOKENIZERS.build(tiny_tokenizer('wp'))
    ids = [tok.cls_id] + tok.encode_plain('red circle on the left') + [tok.sep_id, tok.pad_id]
    import torch
    text_ids = torch.tensor(ids)
    masked = text_ids.clone()
    masked[1], masked[2] = tok.mask_id, ids[4]
    labels = torch.full_like(text_ids, -100)
    labels[1:4] = text_ids[1:4]
    sample = dict(text_ids=text_ids, masked_text_ids=masked, mlm_labels=labels,
                  padding_mask=torch.tensor([False] * (len(ids) - 1) + [True]))
    pieces = [tok.decode([i], skip_special_tokens=False).strip() for i in ids[1:-2]]
    expected = [f'[{pieces[0]}]', f'[{pieces[1]}>{pieces[3]}]', f'[{pieces[2]}=]'] + pieces[3:]
    assert _tool().masked_text(tok, sample) == ' '.join(expected)
