"""vqa_accuracy / normalize_answer against hand-computed official values and mmpretrain's transcription.

Official per-question score with n answers of which c equal the (normalised) prediction: annotator i left out
sees c - 1 matches when it matched and c otherwise, so

    score = [c * min(3, c - 1) + (n - c) * min(3, c)] / (3 n)

which the table below evaluates by hand.
"""
import random

import pytest
from mmpretrain.evaluation.metrics.vqa import _process_digit_article, _process_punctuation

from beitmm.evaluation import normalize_answer, normalize_vocab_answer, vqa_accuracy
from beitmm.evaluation.vqa import CONTRACTIONS


def _answers(c: int, n: int = 10, hit: str = 'yes', miss: str = 'no') -> list:
    return [hit] * c + [miss] * (n - c)


# (c, expected) for 10 answers
COUNT_TABLE = [
    (0, 0.0),   # nobody matches
    (1, 0.3),   # (1*0 + 9*1) / 30 = 9/30
    (2, 0.6),   # (2*1 + 8*2) / 30 = 18/30
    (3, 0.9),   # (3*2 + 7*3) / 30 = 27/30: NOT 1.0 (mmpretrain's min(1, 3/3))
    (4, 1.0),   # (4*3 + 6*3) / 30 = 30/30
    (5, 1.0), (6, 1.0), (7, 1.0), (8, 1.0), (9, 1.0), (10, 1.0),  # min(3, .) saturates from c = 4 on
]


@pytest.mark.parametrize('c,expected', COUNT_TABLE)
def test_leave_one_out_table(c, expected):
    assert vqa_accuracy('yes', _answers(c)) == expected  # exact: 0.6, not 0.5999999999999999
    shuffled = _answers(c)
    random.Random(c).shuffle(shuffled)
    assert vqa_accuracy('yes', shuffled) == expected  # the order of the annotators does not matter


@pytest.mark.parametrize('c,n,expected', [
    (1, 3, 2 / 9),    # (1*0 + 2*1) / 9
    (2, 5, 8 / 15),   # (2*1 + 3*2) / 15
    (3, 9, 8 / 9),    # (3*2 + 6*3) / 27 = 24/27
    (1, 1, 0.0),      # a single annotator is never matched by the "others"
    (4, 4, 1.0),      # (4*3) / 12
])
def test_leave_one_out_other_answer_counts(c, n, expected):
    assert vqa_accuracy('yes', _answers(c, n)) == pytest.approx(expected, abs=1e-15)


NORMALISATION_TABLE = [
    # prediction, answers, expected, why
    ('Two', ['2'] * 10, 1.0, 'number word -> digit, lower-cased'),
    ('none', ['0'] * 10, 1.0, '"none" -> "0" as the official table says'),
    ('2', ['two'] * 10, 0.0, 'ground truth gets no digit step: "two" stays "two"'),
    ('the dog', ['dog'] * 4 + ['cat'] * 6, 1.0, 'article dropped, c = 4'),
    ('an apple', ['apple'] * 10, 1.0, 'article "an"'),
    ('dont', ["don't"] * 3 + ['no'] * 7, 0.9, 'contraction dont -> don\'t, c = 3'),
    ('yes.', ['yes'] * 10, 1.0, 'trailing period removed'),
    ('  Yes\n', ['yes'] * 10, 1.0, 'whitespace stripped, lower-cased'),
    ('5.', ['5'] * 10, 1.0, 'a period after a digit is removed too (the official look-behind is mistyped)'),
    ('2.5', ['2.5'] * 2 + ['3'] * 8, 0.6, 'decimal point kept, c = 2'),
    ('2.5', ['25'] * 10, 0.0, 'decimal point is not deleted'),
    ('1,000', ['1000'] * 10, 1.0, 'digit-comma-digit: every mark deleted'),
    ('black, white', ['black white'] * 10, 1.0, 'comma touching a space: deleted'),
    ('black,white', ['black white'] * 10, 1.0, 'comma touching no space: becomes a space'),
    ('yes', ['yes'] * 2 + ['yes.'] + ['no'] * 7, 0.9, 'answers differ -> punctuation step on them: c = 3'),
    ('yes', ['yes'] * 2 + ['yes!'] + ['no'] * 7, 0.6, '"yes!" -> "yes " (no strip on answers): c = 2'),
    ('yes.', ['yes.'] * 10, 0.0, 'identical answers are left untouched: "yes" != "yes."'),
]


@pytest.mark.parametrize('pred,answers,expected,why', NORMALISATION_TABLE, ids=[r[3] for r in NORMALISATION_TABLE])
def test_normalisation_table(pred, answers, expected, why):
    assert vqa_accuracy(pred, answers) == expected, why


@pytest.mark.parametrize('raw,normalised', [
    ('Two dogs', '2 dogs'), ('The cat.', 'cat'), ('dont', "don't"), ('isnt it', "isn't it"), ('3.5', '3.5'),
    ('Yes!', 'yes'), ('left-hand', 'left hand'), ('a  b', 'b'), ('10,000 ft', '10000 ft'), ('ten', '10'),
])
def test_normalize_answer(raw, normalised):
    assert normalize_answer(raw) == normalised


def _mmpretrain_prediction(text: str) -> str:
    # mmpretrain's VQAAcc._process_answer: its own transcription of the official prediction processing
    return _process_digit_article(_process_punctuation(text.replace('\n', ' ').replace('\t', ' ').strip()))


POOL = ['yes', 'Yes', 'yes.', 'yes!', 'no', 'two', '2', 'the dog', 'dog', "don't", 'dont', '2.5', '25', '1,000',
        '1000', 'black, white', 'black,white', 'a (red) car', 'red car', 'isnt', 'none', '0', 'c-3po', 'e.g. this']


def test_normalize_answer_equals_mmpretrain_transcription_on_every_table_entry():
    words = list(CONTRACTIONS) + [w.capitalize() for w in CONTRACTIONS] + POOL
    for text in words + [' '.join(words[i:i + 3]) for i in range(0, len(words), 3)]:
        assert normalize_answer(text) == _mmpretrain_prediction(text), text


def _official_loop(prediction: str, answers: list) -> float:
    """The official per-question loop written out literally (answer dicts, leave one out by identity)."""
    res = _mmpretrain_prediction(prediction)
    gts = [dict(answer=a, answer_id=i + 1) for i, a in enumerate(answers)]
    if len({g['answer'] for g in gts}) > 1:
        for g in gts:
            g['answer'] = _process_punctuation(g['answer'])
    accs = []
    for g in gts:
        others = [o for o in gts if o != g]
        accs.append(min(1, float(len([o for o in others if o['answer'] == res])) / 3))
    return float(sum(accs)) / len(accs)


def test_vqa_accuracy_matches_the_official_loop_on_random_questions():
    rng = random.Random(0)
    for _ in range(400):
        answers = [rng.choice(POOL[:12]) for _ in range(10)]
        pred = rng.choice(POOL)
        assert vqa_accuracy(pred, answers) == pytest.approx(_official_loop(pred, answers), abs=1e-12)


@pytest.mark.parametrize('bad', [[], 'yes', None, ['yes', 3]])
def test_bad_answers_are_a_clear_error(bad):
    with pytest.raises(ValueError, match='non-empty list of answer strings'):
        vqa_accuracy('yes', bad)


def _glossary_normalize_word(token: str) -> str:
    """Transcription of unilm ``beit3/glossary.py:168-190`` (``normalize_word``), with the official VQA tables.

    Punctuation, then digits / articles / contractions on the raw string (no newline / tab step, no strip), then
    commas removed.
    """
    return _process_digit_article(_process_punctuation(token)).replace(',', '')


# 13 kinds of string where the prediction normalisation's strip / newline step changes the result: a mark next to
# an end space (or a newline) is removed everywhere by normalize_word, turned into a space after the strip.
STRIP_CASES = ['a.)aa?) ', ' -a-b', 'x/y/ ', 'a-b\n-c', 'red(car)( ', ' "big"bus', 'a_b_ ', ' ;a;b', 'c-3po- ',
               'x,y, ', ' @a@b', 'a=b= ', ' +1+2']
SAME_CASES = ['yes? ', ' (red)car', 'Two dogs', 'the  cat.', '1,000 ', ' dont', 'isnt it?', '\t(a)(b)', 'a!b!\t']


def test_vocabulary_normalisation_equals_glossary_normalize_word():
    """normalize_vocab_answer has no strip: equal to normalize_word where normalize_answer is not."""
    rng = random.Random(0)
    fuzz = [''.join(rng.choice('ab 1,.-/?!\'"()\n\t') for _ in range(rng.randint(1, 9))) for _ in range(3000)]
    for text in STRIP_CASES + SAME_CASES + fuzz:
        assert normalize_vocab_answer(text) == _glossary_normalize_word(text), repr(text)
    assert normalize_vocab_answer('a.)aa?) ') == 'aaa' and normalize_answer('a.)aa?) ') == 'aa'
    assert all(normalize_answer(t) != _glossary_normalize_word(t) for t in STRIP_CASES)  # the test tells them apart
    assert all(normalize_answer(t) == _glossary_normalize_word(t) for t in SAME_CASES)
