"""beitmm registries: children of mmengine's root registries (scope ``beitmm``).

``TEXT_TOKENIZERS`` and ``CHECKPOINT_CONVERTERS`` are roots of their own: mmengine has no registry for text
tokenizers or checkpoint converters.

Only mmengine is imported here. ``locations`` are imported lazily the first time a
registry is used, so ``type='beitmm.X'`` works from any mmseg / mmpretrain config; every location
exists (``tests/test_registry.py`` checks it).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='beitmm', locations=['beitmm.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='beitmm', locations=['beitmm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='beitmm', locations=['beitmm.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope='beitmm', locations=['beitmm.datasets.transforms'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope='beitmm', locations=['beitmm.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='beitmm', locations=['beitmm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='beitmm', locations=['beitmm.engine'])
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='beitmm', locations=['beitmm.engine'])
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES, scope='beitmm', locations=['beitmm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='beitmm', locations=['beitmm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='beitmm',
    locations=['beitmm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope='beitmm', locations=['beitmm.engine'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='beitmm', locations=['beitmm.evaluation'])
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope='beitmm', locations=['beitmm.visualization'])
# mmengine has no root registry for text tokenizers: build them with TEXT_TOKENIZERS.build (type='beitmm.X').
TEXT_TOKENIZERS = Registry('text tokenizer', scope='beitmm', locations=['beitmm.text'])
# mmengine has none for checkpoint converters either: a backbone names its converter (checkpoint_converter = 'beit')
CHECKPOINT_CONVERTERS = Registry('checkpoint converter', scope='beitmm', locations=['beitmm.checkpoint.families'])
