"""beitmm's metrics, registered in ``beitmm.registry.METRICS``."""
__all__: list = []
