"""OpenAI-style TorchScript archives: weights read without running the archive's code or pickles."""
import os
import pickle
import zipfile

import pytest
import torch
import torch.nn as nn

from beitmm.checkpoint import is_torchscript_archive, read_torchscript_state_dict
from beitmm.models.teachers import CLIPViT
from tests.test_models.test_teachers.teacher_fakes import TINY_CLIP


class FakeCLIP(nn.Module):
    """Visual tower + a scrap of text tower, like OpenAI's model."""

    def __init__(self) -> None:
        super().__init__()
        self.visual = CLIPViT(arch=TINY_CLIP, img_size=32, frozen=False)
        self.token_embedding = nn.Embedding(10, 8)
        self.logit_scale = nn.Parameter(torch.ones([]))
        self.register_buffer('input_resolution', torch.tensor(32))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.visual(img) * self.logit_scale


@pytest.mark.filterwarnings('ignore::FutureWarning', 'ignore::torch.jit.TracerWarning')
def test_traced_archive_loads_into_clipvit(tmp_path):
    torch.manual_seed(0)
    fake = FakeCLIP().half().eval()  # OpenAI's archives hold fp16 weights
    path = str(tmp_path / 'ViT-T-16.pt')
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(fake, torch.randn(1, 3, 32, 32).half(), check_trace=False), path)
    assert is_torchscript_archive(path)
    state = read_torchscript_state_dict(path)
    assert state['visual.conv1.weight'].dtype == torch.float16
    for k, v in fake.state_dict().items():
        assert state[k].dtype == v.dtype
        torch.testing.assert_close(state[k], v)
    model = CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=path)
    assert model.conv1.weight.dtype == torch.float32
    torch.testing.assert_close(model.proj, fake.visual.proj.float())
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(img), fake.visual.float()(img), rtol=1e-4, atol=1e-4)


class _Evil:
    def __reduce__(self):
        return (os.system, ('touch PWNED_MARKER',))


def test_malicious_archive_is_refused(tmp_path):
    path = str(tmp_path / 'evil.pt')
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('evil/data.pkl', pickle.dumps({'w': _Evil()}, protocol=2))
        z.writestr('evil/code/__torch__.py', 'def f(): pass\n')
    assert is_torchscript_archive(path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(pickle.UnpicklingError, match=r'Refusing to unpickle global (posix|os)\.system'):
            read_torchscript_state_dict(path)
        with pytest.raises(pickle.UnpicklingError):
            CLIPViT(arch=TINY_CLIP, img_size=32, checkpoint=path)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / 'PWNED_MARKER').exists()


def test_plain_checkpoint_is_not_an_archive(tmp_path):
    torch.save({'a': torch.zeros(1)}, tmp_path / 'plain.pth')
    assert not is_torchscript_archive(str(tmp_path / 'plain.pth'))
