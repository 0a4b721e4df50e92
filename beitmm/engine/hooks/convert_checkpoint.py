"""Let ``load_from`` accept every checkpoint layout beitmm can convert."""
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper

from beitmm.registry import HOOKS


@HOOKS.register_module()
class CheckpointConvertHook(Hook):
    """Convert a checkpoint loaded by the Runner (``load_from``, ``--resume``) to the model's layout.

    mmengine calls ``after_load_checkpoint`` between reading the file and loading its weights,
    so official unilm / timm / HF / mmpretrain / mmseg checkpoints, bare backbone checkpoints and
    pretraining checkpoints with a shared relative position bias all load with no offline step.
    The conversion is the one the backbone declares (``checkpoint_converter``, see
    :mod:`beitmm.checkpoint.converters`); backbones that declare none load unchanged.
    A table of renamed / resized / dropped / missing keys is logged, and a missing backbone
    weight stops the run. beitmm's own checkpoints pass through unchanged.

    Args:
        backbone_prefix: Where the backbone sits in the model.
    """

    priority = 'VERY_HIGH'

    def __init__(self, backbone_prefix: str = 'backbone.') -> None:
        self.backbone_prefix = backbone_prefix

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace ``checkpoint['state_dict']`` by its conversion to the model's layout.

        Args:
            runner: The runner.
            checkpoint: The loaded checkpoint (weights not yet in the model).
        """
        from beitmm.checkpoint import convert_state_for_model, converter_for, unwrap_checkpoint
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        tta = isinstance(model, BaseTTAModel)  # tools/test.py --tta: the segmentor / classifier is inside
        if tta:
            model = model.module
        if converter_for(getattr(model, self.backbone_prefix.rstrip('.'), None)) is None:
            return  # a backbone with no declared converter (e.g. mmpretrain's ResNet): mmengine loads the file as is
        from beitmm.checkpoint.io.shapes import model_state_shapes, module_state_shapes
        state = unwrap_checkpoint(checkpoint)
        checkpoint['state_dict'] = convert_state_for_model(
            model, state, self.backbone_prefix, source=str(getattr(runner, '_load_from', None) or 'checkpoint'),
            shapes=module_state_shapes(model) if tta else model_state_shapes(runner.model))
