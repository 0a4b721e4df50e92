"""What a checkpoint conversion did, as data and as the table every load prints."""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Tuple


@dataclass
class ConversionReport:
    """What a checkpoint conversion did.

    Attributes:
        source_format: Detected or given source layout.
        renamed: Number of output keys whose name differs from the source key they came from.
        resized: ``(key, old_shape, new_shape)`` for interpolated keys.
        dropped: ``(key, reason)`` for source keys left out because the model has no use for them.
        reinitialised: ``(key, reason)`` for model keys deliberately left at the model's own
            initialisation although the checkpoint has a weight for them (a head whose class
            count changed, a pretraining norm that unilm's fine-tuning starts afresh).
        missing: Model keys the converted dict does not provide (re-initialised keys excluded).
        unexpected: Converted keys the model does not have (left out of the returned dict).
        notes: Other remarks (e.g. shared table expanded, modules initialised fresh).
    """
    source_format: str = 'unknown'
    renamed: int = 0
    resized: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    dropped: List[Tuple[str, str]] = field(default_factory=list)
    reinitialised: List[Tuple[str, str]] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def add_prefix(self, prefix: str, source_prefix: str = '') -> None:
        """Turn a backbone report into a whole-model one: target keys get ``prefix``, dropped source keys theirs.

        Args:
            prefix: Where the backbone sits in the model (``'backbone.'``).
            source_prefix: Prefix of the source keys (``prefix`` for a whole-model checkpoint, else ``''``).
        """
        self.dropped = [(source_prefix + k, why) for k, why in self.dropped]
        self.resized = [(prefix + k, a, b) for k, a, b in self.resized]
        self.reinitialised = [(prefix + k, why) for k, why in self.reinitialised]
        self.missing = [prefix + k for k in self.missing]
        self.unexpected = [prefix + k for k in self.unexpected]

    def whole_model(self, backbone: Mapping, heads: Mapping, shapes: Mapping, prefix: str, own: bool) -> Dict:
        """The whole-model state of a converted backbone and the source's other weights (``convert_model``'s end).

        Args:
            backbone: Converted backbone state (backbone keys).
            heads: Source weights outside the backbone, by model key.
            shapes: ``{key: shape}`` of the whole model.
            prefix: Where the backbone sits in the model (``'backbone.'``).
            own: The source was a beitmm whole-model checkpoint (its dropped keys carry ``prefix``).

        Returns:
            The model state dict; this report is turned into the whole model's.
        """
        self.add_prefix(prefix, prefix if own else '')
        out = {prefix + k: v for k, v in backbone.items()}
        self.take_heads(out, heads, shapes)
        self.note_missing(out, shapes)
        return out

    def take_heads(self, out: Dict, heads: Mapping, shapes: Mapping) -> None:
        """Copy the non-backbone weights (heads, necks) the model has with the same shape; report the others.

        Args:
            out: The converted whole-model state dict (extended in place).
            heads: Source weights outside the backbone, by model key.
            shapes: ``{key: shape}`` of the whole model.
        """
        for key, value in heads.items():
            if key not in shapes:
                self.dropped.append((key, 'not in the target model'))
            elif value.shape != shapes[key]:
                self.reinitialised.append((key, f'checkpoint {tuple(value.shape)} vs model {tuple(shapes[key])} '
                                                '(task changed, e.g. num_classes): model initialisation'))
            else:
                out[key] = value

    def note_missing(self, state: Mapping, shapes: Mapping) -> None:
        """List the target keys ``state`` does not fill, except those deliberately re-initialised.

        Args:
            state: The converted state dict.
            shapes: ``{key: shape}`` of the target.
        """
        reinit = {k for k, _ in self.reinitialised}
        self.missing = sorted(k for k in shapes if k not in state and k not in reinit)

    def settle(self, state: Dict, shapes: Mapping, strict: bool = False, what: str = 'the backbone') -> Dict:
        """Finish a conversion: drop (and list) keys the target lacks, list missing keys, in strict mode fail on either.

        Args:
            state: The converted state dict (edited in place).
            shapes: ``{key: shape}`` of the target.
            strict: Raise when a key is missing or unexpected.
            what: The target, for the message.

        Returns:
            ``state``.

        Raises:
            ValueError: In strict mode, with this report's table.
        """
        self.unexpected = sorted(k for k in state if k not in shapes)
        for key in self.unexpected:
            del state[key]
        self.note_missing(state, shapes)
        if strict and (self.missing or self.unexpected):
            raise ValueError(f'checkpoint does not cover {what} exactly:\n' + self.table())
        return state

    def table(self) -> str:
        """Render the report as a plain-text table.

        Returns:
            Summary line, notes, then one row per resized, dropped, re-initialised, missing and
            unexpected key.
        """
        rows = [('resized', k, f'{tuple(a)} -> {tuple(b)}') for k, a, b in self.resized]
        rows += [('dropped', k, why) for k, why in self.dropped]
        rows += [('re-initialised', k, why) for k, why in self.reinitialised]
        rows += [('missing', k, 'not in checkpoint') for k in self.missing]
        rows += [('unexpected', k, 'not in model') for k in self.unexpected]
        lines = [f'source format: {self.source_format} | renamed: {self.renamed} | resized: {len(self.resized)} | '
                 f'dropped: {len(self.dropped)} | re-initialised: {len(self.reinitialised)} | '
                 f'missing: {len(self.missing)} | unexpected: {len(self.unexpected)}']
        lines += [f'note: {n}' for n in self.notes]
        if rows:
            w0, w1 = (max(len(r[i]) for r in rows) for i in (0, 1))
            lines.append(f'{"action":<{w0}}  {"key":<{w1}}  detail')
            lines.append(f'{"-" * w0}  {"-" * w1}  ------')
            lines += [f'{a:<{w0}}  {k:<{w1}}  {d}' for a, k, d in rows]
        return '\n'.join(lines)


def split_model_state(state: Mapping, prefix: str) -> Tuple[bool, Dict, Dict]:
    """Whether ``state`` is a beitmm whole-model checkpoint, and its backbone / other weights.

    Args:
        state: A checkpoint's state dict.
        prefix: The model's backbone prefix (``'backbone.'``).

    Returns:
        ``(own, backbone, rest)``: for beitmm's layout the backbone keys without ``prefix`` and the other keys; for
        another layout (``own`` False) the whole state as ``backbone`` and no ``rest`` (the converter splits it).
    """
    own = any(k.startswith(prefix) for k in state)
    if not own:
        return False, dict(state), {}
    return (True, {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)},
            {k: v for k, v in state.items() if not k.startswith(prefix)})
