"""Packaging: `import beitmm` is cheap, registries resolve 'beitmm.X' lazily from any scope."""
import subprocess
import sys


def test_import_is_cheap():
    code = 'import sys, beitmm; print("torch" in sys.modules, "mmengine" in sys.modules, beitmm.__version__)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == ['False', 'False'] and out[2].count('.') == 2


def test_scoped_names_resolve_from_other_libraries():
    code = ('from mmengine.registry import MODELS, TRANSFORMS, HOOKS, OPTIM_WRAPPER_CONSTRUCTORS, DATASETS\n'
            'print(MODELS.get("beitmm.BEiT").__module__, TRANSFORMS.get("beitmm.BlockwiseMaskGenerator").__name__,\n'
            '      HOOKS.get("beitmm.CheckpointConvertHook").__name__, DATASETS.get("beitmm.ImageNet").__name__,\n'
            '      OPTIM_WRAPPER_CONSTRUCTORS.get("beitmm.LayerDecayOptimWrapperConstructor").__name__)')
    # a fresh interpreter that never imported beitmm: the registry's lazy locations do the work
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ['beitmm.models.backbones.beit', 'BlockwiseMaskGenerator', 'CheckpointConvertHook', 'ImageNet',
                   'LayerDecayOptimWrapperConstructor']
