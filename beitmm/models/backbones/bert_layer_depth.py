"""Layer ids of :class:`~beitmm.models.backbones.BertEncoder` parameters for layer-wise lr decay, by ELECTRA's rule.

google-research/electra ``model/optimization.py`` (``_get_layer_lrs``, used by ``run_finetuning.py`` with
``configure_finetuning.py``'s ``layerwise_lr_decay``) gives every variable a depth and the lr
``lr * decay ** (n_layers + 2 - depth)``: ``/embeddings/`` and ``/embeddings_project/`` depth 0, ``encoder/layer_i/``
depth ``i + 1``, ``task_specific/`` (the task head) depth ``n_layers + 2``. Depth ``n_layers + 1`` belonged to the
pooler ELECTRA once had (google-research/electra#51: without it the last layer gets ``decay ** 2``); beitmm's
:class:`~beitmm.models.classifiers.TextClassifier` keeps BERT's pooler (``pooler.dense``), so it sits there.

:class:`beitmm.LayerDecayOptimWrapperConstructor` gives layer id ``i`` of ``num_layers`` ids the scale
``rate ** (num_layers - 1 - i)``; with ``num_layers = n_layers + 3`` ids that is ELECTRA's formula exactly.
"""
from typing import Tuple


class BertLayerDepth:
    """Mixin: ``get_layer_depth`` of a BERT-named encoder with ``self.num_layers`` layers under ``encoder.layer``."""

    num_layers: int

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise lr decay (ELECTRA's ``_get_layer_lrs``, see the module docstring).

        Args:
            param_name: Parameter name, including ``prefix`` when the encoder sits in a model.
            prefix: Prefix of the encoder's parameters in ``param_name`` (e.g. ``'backbone.'``).

        Returns:
            ``(layer_id, num_layers + 3)``: ``embeddings.*`` and ``embeddings_project.*`` 0, ``encoder.layer.i.*``
            ``i + 1``, a ``pooler.*`` outside the encoder ``num_layers + 1``, everything else ``num_layers + 2``
            (scale 1: the task head, and UniLM v2's shared ``rel_pos_bias``, the top group as unilm's BEiT does
            with its shared relative position table; a choice, ELECTRA has none).
        """
        top = self.num_layers + 2
        if not param_name.startswith(prefix):
            return (top - 1 if param_name.startswith('pooler.') else top), top + 1
        name = param_name[len(prefix):]
        if name.startswith(('embeddings.', 'embeddings_project.')):
            return 0, top + 1
        if name.startswith('encoder.layer.'):
            return int(name.split('.')[2]) + 1, top + 1
        return top, top + 1


__all__ = ['BertLayerDepth']
