"""beitmm's metrics, registered in ``beitmm.registry.METRICS``."""
from .caption_metric import CaptionMetric
from .glue_metric import GLUEMetric
from .retrieval_metric import RetrievalRecallMean
from .seq2seq_metric import Seq2SeqMetric, copy_source_scores, seq2seq_scores
from .subset_accuracy import SubsetAccuracy
from .vqa_metric import VQAAccuracy

__all__ = ['CaptionMetric', 'GLUEMetric', 'RetrievalRecallMean', 'VQAAccuracy', 'Seq2SeqMetric', 'seq2seq_scores',
           'copy_source_scores', 'SubsetAccuracy']
