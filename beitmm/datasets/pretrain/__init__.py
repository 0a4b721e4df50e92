"""Pretraining data at scale: image-text pairs (JSON lines + folder, WebDataset shards), text corpora, stream mixing."""
from .mixing import MultiSourceDataset, MultiSourceStepSampler, collate_streams
from .pairs import ImageTextPairDataset
from .texts import TextLineDataset
from .webdataset import WebDatasetPairs

__all__ = ['MultiSourceDataset', 'MultiSourceStepSampler', 'collate_streams', 'ImageTextPairDataset',
           'TextLineDataset', 'WebDatasetPairs']
