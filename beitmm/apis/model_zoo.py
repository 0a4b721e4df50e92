"""The model zoo: every official checkpoint of the BEiT family by name, read from ``configs/*/metafile.yml``.

``model-index.yml`` (repository root) imports one metafile per config folder in mmpretrain's schema (Collections;
Models with Name, Metadata, In Collection, Results, Weights, Config), so OpenMMLab's ``mim`` reads them too. beitmm's
own fields, under ``Metadata``: ``File`` (the official file name), ``Path`` (where the config expects it),
``SHA256`` (null unless published), ``Converter`` (the checkpoint family that reads it), ``Load`` (the config key
the file goes to, or ``load_from``: the whole task model), ``Config Options`` (set on the config first) and
``Tokenizer`` (a text vocabulary file the model needs, with its address).

Usage::

    import beitmm
    beitmm.list_models('beit3*vqav2')                        # ['beit3-base-indomain_vqav2', ...]
    model = beitmm.get_model('beit3-base_vqav2', checkpoint='pretrain/beit3_base_patch16_480_vqa.pth')

Nothing here downloads (``python tools/misc/fetch_weights.py NAME --out pretrain/`` prints the address).
"""
import copy
import difflib
import fnmatch
import logging
import os.path as osp
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence

import yaml

WHOLE_MODEL = 'load_from'  # Metadata.Load of a fine-tuned task model (init_model(config, FILE))


@dataclass
class ModelEntry:
    """One official checkpoint of the zoo.

    Attributes:
        name: Zoo name (``beit3-base_vqav2``).
        collection: Family (``BEiT-3``).
        file: Official file name.
        path: Where the entry's config reads it (``pretrain/...``).
        url: Download address as published.
        sha256: Published sha256, or None (none published).
        converter: Checkpoint family that reads it (``beitmm.registry.CHECKPOINT_CONVERTERS`` name, or ``vqkd``).
        load: Config key the file goes to, or ``'load_from'`` for a whole task model.
        config: Config path relative to the repository root.
        options: Config values set before anything else (dotted keys).
        results: mmpretrain-style results (``Task``, ``Dataset``, ``Metrics``).
        downstream: Names of the entries fine-tuned from this one.
        tokenizer: ``{'Path': ..., 'URL': ...}`` of the vocabulary file the model needs, if any.
        notes: Provenance and caveats.
        source: The official page the address and numbers were read from.
        root: Repository root the entry was read from.
    """
    name: str
    collection: str
    file: str
    path: str
    url: str
    sha256: Optional[str]
    converter: str
    load: str
    config: str
    options: Dict[str, Any] = field(default_factory=dict)
    results: List[dict] = field(default_factory=list)
    downstream: List[str] = field(default_factory=list)
    tokenizer: Optional[Dict[str, str]] = None
    notes: str = ''
    source: str = ''
    root: str = ''

    @property
    def config_path(self) -> str:
        """Absolute path of the entry's config."""
        return osp.join(self.root, self.config)


@lru_cache(maxsize=4)
def _read_index(root: str) -> Dict[str, ModelEntry]:
    index = osp.join(root, 'model-index.yml')
    if not osp.isfile(index):
        raise FileNotFoundError(f'{index} not found: the model zoo lives in the repository (model-index.yml, '
                                'configs/*/metafile.yml); set BEITMM_CONFIGS to a checkout\'s configs/')
    with open(index, encoding='utf-8') as f:
        imports = yaml.safe_load(f).get('Import') or []
    entries: Dict[str, ModelEntry] = {}
    for rel in imports:
        with open(osp.join(root, rel), encoding='utf-8') as f:
            meta = yaml.safe_load(f)
        for m in meta.get('Models') or []:
            md, name = m.get('Metadata') or {}, m['Name']
            missing = [k for k in ('File', 'Path', 'Converter', 'Load') if k not in md]
            if missing or not m.get('Config') or not m.get('Weights'):
                raise ValueError(f'{rel}: model {name!r} lacks {missing or "Config / Weights"}')
            if name.lower() in entries:
                raise ValueError(f'{rel}: model name {name!r} is used twice in the zoo')
            entries[name.lower()] = ModelEntry(
                name=name, collection=m.get('In Collection', ''), file=md['File'], path=md['Path'], url=m['Weights'],
                sha256=md.get('SHA256'), converter=md['Converter'], load=md['Load'], config=m['Config'],
                options=dict(md.get('Config Options') or {}), results=list(m.get('Results') or []),
                downstream=list(m.get('Downstream') or []), tokenizer=md.get('Tokenizer'), notes=m.get('Notes', ''),
                source=m.get('Source', ''), root=root)
    return entries


def model_entries(root: Optional[str] = None) -> Dict[str, ModelEntry]:
    """All zoo entries by lower-case name.

    Args:
        root: Repository root holding ``model-index.yml`` (default: the checkout beitmm was imported from, or the
            parent of ``$BEITMM_CONFIGS``).

    Returns:
        ``{name.lower(): entry}``.
    """
    if root is None:
        from beitmm.testing.shrink import configs_root  # BEITMM_CONFIGS, else the checkout beitmm came from
        root = osp.dirname(osp.abspath(configs_root()))
    return _read_index(root)


def list_models(pattern: str = '*', exclude_patterns: Optional[Sequence[str]] = None,
                task: Optional[str] = None) -> List[str]:
    """Names of the zoo's checkpoints, as ``mmpretrain.list_models``.

    Args:
        pattern: fnmatch pattern of names, case-insensitive; ``*`` is appended (``'beit3'`` lists every BEiT-3).
        exclude_patterns: Patterns of names to leave out (``*`` appended too).
        task: Keep the entries with an official result of this task (``'Visual Question Answering'``); ``'null'``
            keeps those without results (pretrained checkpoints).

    Returns:
        Sorted names.
    """
    entries = model_entries()
    names = [e.name for e in entries.values() if fnmatch.fnmatch(e.name.lower(), pattern.lower() + '*')]
    for ex in exclude_patterns or ():
        names = [n for n in names if not fnmatch.fnmatch(n.lower(), ex.lower() + '*')]
    if task is not None:
        names = [n for n in names if (task == 'null' and not entries[n.lower()].results)
                 or task in [r['Task'] for r in entries[n.lower()].results]]
    return sorted(names)


def model_entry(name: str) -> ModelEntry:
    """The entry of a zoo name, or of an official file name / stem (``beit3_base_patch16_480_vqa[.pth]``).

    Args:
        name: Zoo name or official file name, case-insensitive.

    Returns:
        The entry.

    Raises:
        KeyError: Unknown name; the message lists the closest names.
    """
    entries = model_entries()
    key = name.lower()
    if key in entries:
        return entries[key]
    for e in entries.values():
        if key in (e.file.lower(), osp.splitext(e.file)[0].lower(), e.path.lower()):
            return e
    candidates = [e.name for e in entries.values()] + [osp.splitext(e.file)[0] for e in entries.values()]
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    hint = f'; did you mean {", ".join(close)}?' if close else ''
    raise KeyError(f'{name!r} is not in the beitmm model zoo{hint} (beitmm.list_models() lists {len(entries)})')


def drop_weight_files(node: Any) -> Any:
    """Remove every pretrained-weight reference from a model config, in place (vocabulary files are kept).

    ``init_cfg`` of type ``Pretrained`` becomes None; string values of ``checkpoint`` / ``*_checkpoint`` keys
    (target generators, teachers) become None.

    Args:
        node: A config dict / list.

    Returns:
        ``node``.
    """
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if key == 'init_cfg' and isinstance(value, dict) and value.get('type') == 'Pretrained':
                node[key] = None
            elif key == 'init_cfg' and isinstance(value, (list, tuple)):
                node[key] = [v for v in value if not (isinstance(v, dict) and v.get('type') == 'Pretrained')]
            elif (key == 'checkpoint' or key.endswith('_checkpoint')) and isinstance(value, str):
                node[key] = None
            else:
                drop_weight_files(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            drop_weight_files(value)
    return node


def _set_key(cfg: Any, key: str, value: Any) -> None:
    # a dotted key's value replaces the config's (mmengine's merge_from_dict would merge a dict into a preset name)
    *parents, last = key.split('.')
    node = cfg
    for part in parents:
        if node.get(part) is None:  # an init_cfg dropped above comes back as a Pretrained one
            node[part] = dict(type='Pretrained') if part == 'init_cfg' else {}
        node = node[part]
    node[last] = value


@lru_cache(maxsize=32)
def _read_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(path)


def entry_config(name: str):
    """The entry's config with its ``Config Options`` set (the pretrained paths as the entry names them).

    Args:
        name: Zoo name (see :func:`model_entry`).

    Returns:
        The ``mmengine.Config``.
    """
    entry = model_entry(name)
    cfg = copy.deepcopy(_read_config(entry.config_path))
    for key, value in entry.options.items():
        _set_key(cfg, key, value)
    return cfg


def model_config(name: str, checkpoint: Optional[str] = None, **cfg_options: Any):
    """The config :func:`get_model` builds.

    :func:`entry_config` without its pretrained-weight references, ``checkpoint`` at the entry's ``Load`` key (for
    ``load_from`` entries it is left to :func:`beitmm.apis.init_model`), then ``cfg_options``.

    Args:
        name: Zoo name (see :func:`model_entry`).
        checkpoint: The official file, or None.
        **cfg_options: Config values by dotted key (``**{'model.backbone.img_size': 384}``); each replaces the
            config's value.

    Returns:
        The ``mmengine.Config``.
    """
    entry = model_entry(name)
    cfg = entry_config(entry.name)
    drop_weight_files(cfg.model)
    cfg.load_from = None
    if checkpoint is not None and entry.load != WHOLE_MODEL:
        _set_key(cfg, entry.load, checkpoint)
    for key, value in cfg_options.items():
        _set_key(cfg, key, value)
    return cfg


def get_model(name: str, checkpoint: Optional[str] = None, device: str = 'cpu', **cfg_options: Any):
    """Build a zoo model from its config; load the official file when given (never downloads).

    The file is read the way the config reads it: into the config's ``Load`` key (``init_cfg`` through the family's
    converter, a VQ-KD target generator, ...) or, for a fine-tuned task model, into the whole model as
    ``beitmm.apis.init_model(config, checkpoint)``. Without a file the model keeps its initialisation, with a
    warning.

    Args:
        name: Zoo name or official file name (see :func:`list_models`).
        checkpoint: Path of the downloaded official file (``python tools/misc/fetch_weights.py NAME``).
        device: 'cpu', 'cuda', ...
        **cfg_options: Config values by dotted key, replacing the config's (``**{'model.tokenizer.model_file':
            'x.spm'}``).

    Returns:
        The model in eval mode (``model.cfg`` is the config used).

    Raises:
        KeyError: Unknown name.
        FileNotFoundError: ``checkpoint`` is not a file, or the vocabulary file the config reads is missing.
    """
    from mmengine.logging import print_log

    from .inference import init_model
    entry = model_entry(name)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{checkpoint} not found: the official file of {entry.name} is {entry.file} '
                                f'(python tools/misc/fetch_weights.py {entry.name} --out pretrain/)')
    cfg = model_config(entry.name, checkpoint, **cfg_options)
    vocab = entry.tokenizer
    if vocab and vocab['Path'] in str(cfg.model.get('tokenizer')) and not osp.isfile(vocab['Path']):
        raise FileNotFoundError(f'{entry.name} reads its vocabulary from {vocab["Path"]}: download {vocab["URL"]}')
    if checkpoint is None:
        msg = (f'{entry.name}: no checkpoint: untrained weights (pass checkpoint=PATH of {entry.file}; '
               f'python tools/misc/fetch_weights.py {entry.name} prints its address)')
        print_log(msg, logger='current', level=logging.WARNING)
        warnings.warn(msg, stacklevel=2)
    whole = checkpoint if entry.load == WHOLE_MODEL else None
    return init_model(cfg, whole, device=device)
