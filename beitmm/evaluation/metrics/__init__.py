"""beitmm's metrics, registered in ``beitmm.registry.METRICS``."""
from .caption_metric import CaptionMetric
from .retrieval_metric import RetrievalRecallMean
from .vqa_metric import VQAAccuracy

__all__ = ['CaptionMetric', 'RetrievalRecallMean', 'VQAAccuracy']
