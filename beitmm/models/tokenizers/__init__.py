"""Visual tokenizers producing the discrete targets of masked image modeling."""
from .dalle import DALLEConv2d, DALLEDecoder, DALLEEncoder, DALLEResBlock, DALLETokenizer, map_pixels, unmap_pixels
from .kmeans import KMeansTokenizer, patch_features
from .quantizer import EmbeddingEMA, NormEMAQuantizer
from .vqkd import VQKD

__all__ = [
    'KMeansTokenizer', 'patch_features', 'DALLETokenizer', 'DALLEEncoder', 'DALLEDecoder', 'DALLEResBlock',
    'DALLEConv2d', 'map_pixels', 'unmap_pixels', 'VQKD', 'NormEMAQuantizer', 'EmbeddingEMA'
]
