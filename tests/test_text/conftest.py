"""Tiny vocabularies trained here, offline, from generated sentences; the sentences the tokenizers are compared on.

Fixtures (session scope, a fraction of a second each):
    corpus_file: 400 generated sentences (lower / upper case, accents, digits, punctuation, CJK, Hangul, kana).
    spm_file: a 250-piece unigram SentencePiece model in XLM-R's layout (``train_sentencepiece``).
    bpe_spm_file: the same as a 250-piece BPE model.
    vocab_file / cased_vocab_file: 300-token uncased / cased BERT ``vocab.txt`` (``train_wordpiece``).
"""
import random
from typing import List

import pytest

WORDS = ('a the of and to in is was for on that with as by at from photo picture man woman dog cat sitting '
         'standing running table street car bus train red blue green white black small large two three people '
         'group water field grass tree building sky snow beach ocean boat kite bicycle horse pizza plate food '
         'kitchen room bed').split()
EXTRA = ['café', 'naïve', 'Über', 'résumé', 'São', 'Zürich', 'El Niño', '東京', '北京大学', 'こんにちは', '한국어',
         'New-York', "don't", "it's", 'U.S.A.', '3.14', '2024', 'COVID-19', 'e-mail', '$5', '50%', '(test)']

# Compared id for id with the transformers reference tokenizers.
SENTENCES = [
    'A man riding a horse on the beach.',
    "Hello, world! What's up? (yes) [no] {maybe}; a:b -- c... \"quoted\" 'single'",
    'Café naïve résumé Über São Paulo Zürich El Niño façade',
    'THE DOG IS RUNNING IN THE FIELD',
    'MiXeD CaSe WoRdS with CamelCase and snake_case',
    '3 dogs, 12 cats and 2024 birds; pi is 3.14159 and 50% of $5',
    '☃ snowman 🙂 emoji ∑ math ⊕ and ☃☃ twice',
    '東京 北京大学 是 中国 的 大学', '北京大学是中国的大学', 'こんにちは 한국어 Привет мир مرحبا नमस्ते',
    'ΟΔΟΣ Ελληνικά İstanbul straße ﬁne ＡＢＣ１２３',
    'e\u0301 decomposed, \u00e9 composed',
    '', ' ', '   \t\n ', 'a', '.', '!!!',
    'a\x00b\u200bc\x7fd\ufffde',
    'two  spaces\tand\ttabs\nnew line\r\nwindows',
    "don't can't it's we're I've I'm",
    'https://example.com/a?b=c&d=e user@example.com U.S.A. COVID-19 e-mail New-York',
    'x' * 150, 'supercalifragilisticexpialidocious antidisestablishmentarianism',
    ' '.join(random.Random(1).choice(WORDS) for _ in range(200)),
]
# Special tokens written in the text are kept whole by both references.
SPM_SPECIAL_SENTENCES = ['a <mask> photo', 'a<mask>photo', 'x <s> y </s>', '<pad><unk>', ' <mask> ', '<MASK>',
                         'a  <pad>  b']
BERT_SPECIAL_SENTENCES = ['a [MASK] photo', 'a[MASK]photo', '[CLS] x [SEP]', '[PAD][UNK]', '[mask] [Mask]']


def sentences(n: int, seed: int = 0) -> List[str]:
    """``n`` generated captions mixing the corpus words with accents, CJK, digits and punctuation."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words)), rng.choice(EXTRA))
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 999)))
        text = ' '.join(words)
        if rng.random() < 0.5:
            text = text[0].upper() + text[1:]
        if rng.random() < 0.1:
            text = text.upper()
        out.append(text + rng.choice(['.', '!', '?', '', ',', ' .']))
    return out


@pytest.fixture(scope='session')
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp('text') / 'corpus.txt'
    path.write_text('\n'.join(sentences(400)) + '\n', encoding='utf-8')
    return str(path)


@pytest.fixture(scope='session')
def spm_file(corpus_file: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from beitmm.text import train_sentencepiece
    return train_sentencepiece([corpus_file], str(tmp_path_factory.mktemp('spm') / 'tiny.spm'), 250, log=None)


@pytest.fixture(scope='session')
def bpe_spm_file(corpus_file: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from beitmm.text import train_sentencepiece
    return train_sentencepiece([corpus_file], str(tmp_path_factory.mktemp('spm') / 'bpe.model'), 250,
                               model_type='bpe', log=None)


@pytest.fixture(scope='session')
def vocab_file(corpus_file: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from beitmm.text import train_wordpiece
    return train_wordpiece([corpus_file], str(tmp_path_factory.mktemp('wp') / 'vocab.txt'), 300, log=None)


@pytest.fixture(scope='session')
def cased_vocab_file(corpus_file: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from beitmm.text import train_wordpiece
    return train_wordpiece([corpus_file], str(tmp_path_factory.mktemp('wp_cased') / 'vocab.txt'), 300,
                           lowercase=False, log=None)
