"""Build the mmengine Runner for a beitmm config (the one place tools and APIs go through)."""
from mmengine.config import Config
from mmengine.runner import Runner


def build_runner(cfg: Config) -> Runner:
    """Build a Runner with beitmm's safe checkpoint loading in force.

    Args:
        cfg: A loaded config (``Config.fromfile``) with ``work_dir`` set.

    Returns:
        The Runner (``runner_type`` from the config when given, else mmengine's Runner).
    """
    from beitmm.engine.checkpoint_io import register_safe_globals
    register_safe_globals()  # mmengine resumes under torch.load(weights_only=True), allow-list only
    if 'runner_type' in cfg:
        from beitmm.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
