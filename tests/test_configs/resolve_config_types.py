"""Resolve every ``type=`` of every shipped config in the registry that will build it (run in a fresh interpreter).

Usage: ``python tests/test_configs/resolve_config_types.py`` prints a last line ``RESULT <json>``, the JSON being
``{"configs": n, "types": n, "problems": [[config, key path, type, why], ...]}``.

Each type is looked up the way mmengine's ``build_from_cfg`` does: in the registry of its component kind (chosen
from the key path: ``model.*`` -> MODELS, ``*pipeline*`` -> TRANSFORMS, ``*_dataloader.dataset`` -> DATASETS, ...),
switched to the config's ``default_scope`` (nested builds resolve unscoped names in the default scope, mmengine
#1013). Nothing but the config (``custom_imports``) imports beitmm.
"""
import glob
import json
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import (
    DATA_SAMPLERS,
    DATASETS,
    FUNCTIONS,
    HOOKS,
    LOG_PROCESSORS,
    LOOPS,
    METRICS,
    MODEL_WRAPPERS,
    MODELS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
    PARAM_SCHEDULERS,
    STRATEGIES,
    TASK_UTILS,
    TRANSFORMS,
    VISBACKENDS,
    VISUALIZERS,
    WEIGHT_INITIALIZERS,
    DefaultScope,
    Registry,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _batch_augments() -> Registry:
    from mmpretrain.registry import BATCH_AUGMENTS  # parentless in mmpretrain 1.2
    return BATCH_AUGMENTS


def _text_tokenizers() -> Registry:
    from beitmm.registry import TEXT_TOKENIZERS  # imported by the config's custom_imports already
    return TEXT_TOKENIZERS


# mmdet builds these parts of its models from TASK_UTILS (anchor generators, box coders, assigners, samplers)
TASK_KEYS = ('anchor_generator', 'prior_generator', 'bbox_coder', 'assigner', 'sampler', 'iou_calculator')
# mmdet looks these up as attributes of mmcv.ops, not in a registry (RoI extractors' roi_layer, batched_nms's nms)
MMCV_OPS_KEYS = ('roi_layer', 'nms')


def registry_for(path: str, scope: Optional[str] = None) -> Optional[Registry]:
    """The root registry that builds the component at config key ``path`` (None: unknown kind)."""
    last = path.rsplit('.', 1)[-1]
    if scope == 'mmdet' and path.startswith('model') and last in TASK_KEYS:
        return TASK_UTILS
    if 'init_cfg' in path:
        return WEIGHT_INITIALIZERS
    if path.startswith(('custom_hooks', 'default_hooks')):  # before the loss rule: default_hooks.non_finite_loss
        return HOOKS
    if 'norm_cfg' in path or 'act_cfg' in path or 'loss' in path.rsplit('.', 1)[-1]:
        return MODELS
    if 'pipeline' in path or path.startswith(('train_pipeline', 'test_pipeline', 'val_pipeline')):
        return TRANSFORMS
    if path.startswith('model') and 'augments' in path:
        return MODELS if scope == 'mmdet' else _batch_augments()  # mmdet builds batch augments as models
    if path.startswith(('model', 'data_preprocessor', 'tta_model')):  # tta_model: tools/test.py --tta wraps model
        return MODELS
    head = path.split('.')[0].split('[')[0]
    if head.endswith('_dataloader'):
        for part, registry in (('.sampler', DATA_SAMPLERS), ('.batch_sampler', DATA_SAMPLERS),
                               ('.collate_fn', FUNCTIONS), ('.dataset', DATASETS)):
            if path.startswith(head + part):
                return registry
    if head.endswith('_evaluator'):
        return METRICS
    if head in ('custom_hooks', 'default_hooks'):
        return HOOKS
    if path.startswith('optim_wrapper.optimizer'):
        return OPTIMIZERS
    if head == 'strategy':  # FlexibleRunner: the strategy, its model wrapper, the FSDP auto-wrap policy function
        return (FUNCTIONS if path.endswith('auto_wrap_policy') else
                MODEL_WRAPPERS if path.startswith('strategy.model_wrapper') else STRATEGIES)
    return {'optim_wrapper': OPTIM_WRAPPERS, 'param_scheduler': PARAM_SCHEDULERS, 'train_cfg': LOOPS,
            'val_cfg': LOOPS, 'test_cfg': LOOPS, 'vis_backends': VISBACKENDS, 'log_processor': LOG_PROCESSORS,
            'model_wrapper_cfg': MODEL_WRAPPERS}.get(head) or (VISBACKENDS if 'vis_backends' in path else
                                                              VISUALIZERS if head == 'visualizer' else None)


def types(node, path: str = '') -> Iterator[Tuple[str, str]]:
    """``(key path, type name)`` of every string ``type`` in a config tree."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield path or 'type', node['type']
        for key, child in node.items():
            if not str(key).startswith('_') and key != 'custom_imports':
                yield from types(child, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, child in enumerate(node):
            yield from types(child, f'{path}[{i}]')


def resolve(cfg: Config) -> Tuple[int, List[Tuple[str, str, str]]]:
    problems, count = [], 0
    scope = cfg.get('default_scope')
    for path, name in types(cfg.to_dict()):
        if path.rsplit('.', 1)[-1] in MMCV_OPS_KEYS:
            import mmcv.ops
            count += 1
            if not callable(getattr(mmcv.ops, name, None)):
                problems.append((path, name, 'not an mmcv.ops function or class'))
            continue
        registry = registry_for(path, scope)
        if path.endswith('tokenizer') and _text_tokenizers().get(name) is not None:
            count += 1  # a text tokenizer (of a VL model, of beitmm.MaskText, a top-level one): TEXT_TOKENIZERS
            continue
        if registry is None:
            problems.append((path, name, 'no registry known for this key'))
            continue
        count += 1
        with DefaultScope.overwrite_default_scope(scope), registry.switch_scope_and_registry(None) as reg:
            try:
                found = reg.get(name)
            except Exception as err:  # noqa: BLE001 - reported with the config and key
                found, why = None, f'{type(err).__name__}: {err}'
            else:
                why = f'not found in the {reg.scope} {reg.name} registry (default scope {scope})'
        if found is None:
            problems.append((path, name, why))
    return count, problems


def main() -> None:
    configs = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                     if '_base_' not in p)
    total, problems = 0, []
    for path in configs:
        rel = osp.relpath(path, ROOT)
        try:
            cfg = Config.fromfile(path)
        except Exception as err:  # noqa: BLE001
            problems.append((rel, '', '', f'does not load: {type(err).__name__}: {err}'))
            continue
        count, found = resolve(cfg)
        total += count
        problems += [(rel, *p) for p in found]
    print("RESULT " + json.dumps(dict(configs=len(configs), types=total, problems=problems)))  # libraries print too


if __name__ == '__main__':
    main()
