"""tools/model_converters/convert_beit3.py: a unilm-layout file in, beitmm.BEiT3 keys out, loadable by copy."""
import os.path as osp
import subprocess
import sys

import torch

from beitmm.models.backbones import BEiT3
from beitmm.testing.shrink import ROOT, TINY


def test_offline_conversion_resizes_and_loads_by_copy(tmp_path):
    torch.manual_seed(0)
    model = BEiT3(arch=TINY, img_size=32, vocab_size=50)
    model.init_weights()
    src, dst = str(tmp_path / 'beit3.pth'), str(tmp_path / 'beitmm.pth')
    state = {'beit3.' + k: v for k, v in model.state_dict().items()}
    state['head.weight'] = torch.zeros(3, TINY['embed_dims'])
    torch.save({'model': state}, src)
    tool = osp.join(ROOT, 'tools/model_converters/convert_beit3.py')
    out = subprocess.run([sys.executable, tool, src, dst, '--img-size', '64', '--drop-heads'], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '(7, 32) -> (19, 32)' in out.stdout and 'head.weight' in out.stdout
    converted = torch.load(dst, weights_only=True)
    big = BEiT3(arch=TINY, img_size=64, vocab_size=50)
    big.load_state_dict(converted, strict=True)  # beitmm names, nothing missing or left over
    torch.testing.assert_close(converted['encoder.embed_positions.A.weight'][:3],
                               model.encoder.embed_positions.A.weight[:3].detach())
