"""Text tokenizers of the multimodal models: BEiT-3's SentencePiece and VLMo's BERT WordPiece vocabularies.

Ground floor: imports neither ``beitmm.models`` nor ``beitmm.engine``. Build one from a config with
``TEXT_TOKENIZERS.build(dict(type='beitmm.SentencePieceTokenizer', model_file='beit3.spm'))``; the interface is
``beitmm.text.base.BaseTextTokenizer``. ``tools/misc/train_text_tokenizer.py`` trains a small vocabulary offline.
"""
from .base import BaseTextTokenizer
from .sentencepiece_tokenizer import SentencePieceTokenizer
from .training import train_sentencepiece, train_wordpiece
from .wordpiece_tokenizer import WordPieceTokenizer, bert_normalizer, load_vocab

__all__ = ['BaseTextTokenizer', 'SentencePieceTokenizer', 'WordPieceTokenizer', 'bert_normalizer', 'load_vocab',
           'train_sentencepiece', 'train_wordpiece']
