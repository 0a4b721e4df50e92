"""Ways ``tools/test.py`` evaluates a config besides its own test set: test-time augmentation and other test sets.

- :func:`apply_tta` (``--tta``): the config's ``tta_model`` / ``tta_pipeline`` (mmseg's ``SegTTAModel`` with the
  multi-scale + flip ``TestTimeAug`` of ``configs/_base_/datasets/ade20k_*.py``), or for a classifier without them
  mmpretrain's ``AverageClsScoreTTA`` over the image and its horizontal flip.
- :func:`with_test_set` (``--robustness``): the model config evaluated on the test set and metric of another dataset
  config (``configs/_base_/datasets/imagenet_{a,r,sketch,v2}.py``), with the model config's own test pipeline.
"""
import copy
from typing import List, Optional

from mmengine.config import Config, ConfigDict


def _short(type_name) -> str:
    return type_name.rpartition('.')[2] if isinstance(type_name, str) else getattr(type_name, '__name__', '')


def is_classifier_config(cfg: Config) -> bool:
    """Whether the config's model is an image classifier (mmpretrain's, or a beitmm one named ``*Classifier``).

    Args:
        cfg: A loaded config.

    Returns:
        True for ``ImageClassifier`` and other ``*Classifier`` models.
    """
    return _short(cfg.model.get('type')).endswith('Classifier')


def flip_tta_pipeline(test_pipeline: list) -> list:
    """The test pipeline with its last step (the packing) replaced by a two-view ``TestTimeAug``: as is, and flipped.

    Args:
        test_pipeline: The config's test pipeline (loading ... packing).

    Returns:
        A new pipeline; the views are averaged by ``AverageClsScoreTTA`` (mean of the two softmax scores).
    """
    pipeline = copy.deepcopy(list(test_pipeline))
    views = [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')]
    return pipeline[:-1] + [dict(type='TestTimeAug', transforms=[views, [pipeline[-1]]])]


def apply_tta(cfg: Config) -> List[str]:
    """Turn a config into its test-time-augmented version (in place), as mmseg's / mmpretrain's ``tools/test.py``.

    The test pipeline becomes ``cfg.tta_pipeline`` and the model is wrapped by ``cfg.tta_model``. A classifier config
    without them gets flip TTA (a choice: the official BEiT / BEiT v2 classification code evaluates one center crop).
    Width relations of the model (``dict(follows='backbone')``) are resolved first, since the wrapper nests the model.

    Args:
        cfg: A loaded config (overrides merged).

    Returns:
        Lines for the log: what was applied, and the widths resolved.

    Raises:
        ValueError: The config has no TTA settings and is not a classifier.
    """
    from beitmm.engine.config_fit import resolve_widths
    lines = resolve_widths(cfg)
    tta_model, tta_pipeline = cfg.get('tta_model'), cfg.get('tta_pipeline')
    if tta_model is None or tta_pipeline is None:
        if not is_classifier_config(cfg):
            raise ValueError(f'{cfg.filename}: --tta needs tta_model and tta_pipeline in the config (the ADE20K '
                             'dataset bases define them); this config has neither and its model is no classifier')
        tta_model = dict(type='mmpretrain.AverageClsScoreTTA')  # choice: mmpretrain's default TTA for classifiers
        tta_pipeline = flip_tta_pipeline(cfg.test_dataloader.dataset.pipeline)
        lines.append('--tta: image + horizontal flip, softmax scores averaged (mmpretrain AverageClsScoreTTA)')
    else:
        lines.append(f"--tta: {_short(tta_model['type'])} over the config's tta_pipeline")
    cfg.test_dataloader.dataset.pipeline = copy.deepcopy(tta_pipeline)
    cfg.model = ConfigDict(**copy.deepcopy(tta_model), module=cfg.model)
    return lines


def with_test_set(cfg: Config, test_cfg: Config, data_root: Optional[str] = None) -> Config:
    """A copy of ``cfg`` whose test set and metric are ``test_cfg``'s, read through ``cfg``'s test pipeline.

    Args:
        cfg: The model's config (its model, checkpoint handling and test pipeline are kept: the resolution is the
            model's).
        test_cfg: A dataset config with ``test_dataloader`` and ``test_evaluator``
            (``configs/_base_/datasets/imagenet_a.py`` ...).
        data_root: Overrides ``test_cfg``'s ``data_root``.

    Returns:
        The new config.
    """
    out = copy.deepcopy(cfg)
    dataset = copy.deepcopy(test_cfg.test_dataloader.dataset)
    dataset.pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    if data_root:
        dataset.data_root = data_root
    out.test_dataloader = ConfigDict({**copy.deepcopy(cfg.test_dataloader), 'dataset': dataset})
    out.test_evaluator = copy.deepcopy(test_cfg.test_evaluator)
    return out
