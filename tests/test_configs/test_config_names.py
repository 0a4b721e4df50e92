"""Every config is named by the rule of configs/README.md; demo-sized configs are in configs/demo/ and only there."""
import glob
import os.path as osp
import re

import pytest

from beitmm.testing.shrink import ROOT

CONFIGS = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                 for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)
WORD = r'[a-z0-9.]+'
FIELD = re.compile(rf'^{WORD}(-{WORD})*$')
# {model}-{size}[-{part}]: the sizes of configs/README.md, minilm-l12, a text branch (beit3-b-text)
MODEL = re.compile(r'^(beit|beitv2|beit3|vit|vlmo|vlbeit|bert|unilm1|unilm1\.2|unilm2|xlmr|minilm|electra)-'
                   r'(tiny|small|b|l|h|l12|l6)(-text)?$|^resnet50(-tiny)?$')
TEACHER = re.compile(r'^(clip|dino|beit|pixel)(-[a-z0-9]+)*$')
DISTILLATION = ('maskdistill', 'maskfeat-style', 'vqkd')
NECKS = {'simplefpn'}  # detection: mmdet's {neck} field after the backbone
DATA = {'in1k', 'in22k', 'in21k', 'ade20k', 'coco', 'coco-retrieval', 'flickr30k-retrieval', 'coco-captioning',
        'nocaps-captioning', 'vqav2', 'nlvr2', 'xsum', 'cnndm', 'squad-qg', 'text', 'pairs', 'vl-corpus',
        'polarity', *(f'glue-{t}' for t in ('cola', 'sst2', 'mrpc', 'qqp', 'stsb', 'mnli', 'qnli', 'rte', 'wnli'))}
DEMO_TASKS = {'cls', 'seg', 'det', 'linear', 'pretrain', 'vqkd', 'vqa', 'nlvr2', 'caption', 'retrieval', 'mlm',
              's2s', 'text-cls'}


def parse(name: str) -> dict:
    """Fields of a config name: algorithm, teacher, backbone, training, data (absent ones None).

    Args:
        name: The file name (``maskdistill_clip-b16_vit-b_300e_in1k.py``).

    Returns:
        The fields (``neck`` only when present); raises ValueError where the name breaks the rule.
    """
    fields = name[:-3].split('_')
    if not name.endswith('.py') or not 2 <= len(fields) <= 5 or not all(FIELD.match(f) for f in fields):
        raise ValueError('2 to 5 fields of lower-case words joined by -, separated by _')
    models = [i for i, f in enumerate(fields[:-1]) if MODEL.match(f)]
    if not models:
        raise ValueError(f'no backbone field ({MODEL.pattern})')
    b = models[-1]
    before, after = fields[:b], fields[b + 1:-1]
    neck = after.pop(0) if after and after[0] in NECKS else None
    if len(before) > 2 or len(after) > 1 or (before and MODEL.match(before[0]) and len(before) == 1):
        raise ValueError('[{algorithm}_[{teacher}_]]{backbone}[_{neck}][_{training}]_{data}')
    if len(before) == 2 and not (before[0].startswith(DISTILLATION) and TEACHER.match(before[1])):
        raise ValueError('a {teacher} field only after a distillation algorithm')
    out = dict(algorithm=before[0] if before else None, teacher=before[1] if len(before) == 2 else None,
               backbone=fields[b], training=after[0] if after else None, data=fields[-1])
    return dict(out, neck=neck) if neck else out


@pytest.mark.parametrize('rel', CONFIGS)
def test_config_names_follow_the_rule(rel):
    folder, name = osp.split(rel)
    fields = parse(name)
    demo = 'tiny' in fields['backbone'] or (fields['training'] or '').startswith('demo')
    assert demo == (folder == 'demo'), 'demo-sized configs are in configs/demo/, and only there'
    if demo:
        assert fields['training'].startswith('demo') and 'tiny' in fields['backbone']
        assert fields['data'] in DEMO_TASKS, f'demo task one of {sorted(DEMO_TASKS)}'
    else:
        assert fields['data'] in DATA, f'data one of {sorted(DATA)} (configs/README.md)'


@pytest.mark.parametrize('name,fields', [
    ('beit-b_in1k.py', (None, None, 'beit-b', None, 'in1k')),
    ('upernet_beit-b_ade20k.py', ('upernet', None, 'beit-b', None, 'ade20k')),
    ('maskdistill_clip-b16_vit-b_300e_in1k.py', ('maskdistill', 'clip-b16', 'vit-b', '300e', 'in1k')),
    ('mask-rcnn_beit-b_simplefpn_lsj-100e_coco.py', ('mask-rcnn', None, 'beit-b', 'lsj-100e', 'coco', 'simplefpn')),
    ('s2s-ft-pseudo-masked_beit3-b-text_xsum.py', ('s2s-ft-pseudo-masked', None, 'beit3-b-text', None, 'xsum')),
    ('beit-l_ft22k-384_in1k.py', (None, None, 'beit-l', 'ft22k-384', 'in1k')),
    ('beitv2-b_in21k.py', (None, None, 'beitv2-b', None, 'in21k'))])
def test_the_parser_reads_the_fields(name, fields):
    assert tuple(parse(name).values()) == fields


@pytest.mark.parametrize('name', [
    'upernet_beit-b_ade20k_cp.py', 'maskdistill_clip-b16_vit-b_cosine_300e_in1k.py', 'beitv2-b-1600e_in1k.py',
    'cim-tiny_respix_demo.py', 'upernet_maskdistill_vit-b_ade20k.py', 'Beit-b_in1k.py',
    'upernet_clip-b16_beit-b_ade20k.py', 'vit-b_beit-b_in1k.py', 'mask-rcnn_beit-b_lsj-100e_simplefpn_coco.py',
    'beit-b_384_ft22k-in1k.py'])
def test_the_parser_rejects_names_that_break_the_rule(name):
    with pytest.raises(ValueError):
        fields = parse(name)
        if fields['data'] not in DATA:
            raise ValueError(fields['data'])
