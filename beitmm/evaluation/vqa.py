"""The official VQA accuracy (GT-Vision-Lab/VQA ``vqaEval.py``), transcribed from its algorithm and tables.

Per question the official script

1. normalises the prediction: newlines / tabs to spaces, strip, :func:`process_punctuation`, then
   :func:`process_digit_article`;
2. applies :func:`process_punctuation` (only that step) to the ground-truth answers, and only when the answers
   are not all identical;
3. for each annotator, counts the *other* annotators whose answer equals the prediction and scores
   ``min(1, matches / 3)``; the question's accuracy is the mean over the annotators (leave-one-annotator-out).

For c matching answers out of 10 this is 0, 0.3, 0.6, 0.9, 1.0 for c = 0, 1, 2, 3, >=4, which is exactly ViLT's soft
score. mmpretrain's ``VQAAcc`` scores ``min(1, c / 3)`` instead, i.e. 0.33 / 0.67 / 1.0: it over-reports.
"""
import re
from typing import List, Sequence

# Punctuation the official script removes or turns into a space (its ``punct`` list, in its order).
PUNCTUATION = (';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!')
# A comma between two digits ("1,000") switches every punctuation mark to plain removal.
_DIGIT_COMMA = re.compile(r'\d,\d')
# The official pattern ``(?!<=\d)(\.)(?!\d)`` means a look-behind but is written as a look-ahead, which always
# holds in front of a '.', so it removes every period not followed by a digit ("5." -> "5", "2.5" stays).
_PERIOD = re.compile(r'\.(?!\d)')
# The official script passes ``re.UNICODE`` (== 32) as ``sub``'s third positional argument, i.e. ``count``.
_PERIOD_COUNT = int(re.UNICODE)
NUMBER_WORDS = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5', 'six': '6',
                'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
ARTICLES = frozenset(('a', 'an', 'the'))
# Word -> contracted form, the official table (120 entries, including its odd ones: the capitalised keys can never
# match after lower-casing, and "somebody'd" maps to "somebodyd").
CONTRACTIONS = {
    'aint': "ain't", 'arent': "aren't", 'cant': "can't", 'couldve': "could've", 'couldnt': "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", 'didnt': "didn't", 'doesnt': "doesn't",
    'dont': "don't", 'hadnt': "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", 'hasnt': "hasn't",
    'havent': "haven't", 'hed': "he'd", "hed've": "he'd've", "he'dve": "he'd've", 'hes': "he's", 'howd': "how'd",
    'howll': "how'll", 'hows': "how's", "Id've": "I'd've", "I'dve": "I'd've", 'Im': "I'm", 'Ive': "I've",
    'isnt': "isn't", 'itd': "it'd", "itd've": "it'd've", "it'dve": "it'd've", 'itll': "it'll", "let's": "let's",
    'maam': "ma'am", 'mightnt': "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    'mightve': "might've", 'mustnt': "mustn't", 'mustve': "must've", 'neednt': "needn't", 'notve': "not've",
    'oclock': "o'clock", 'oughtnt': "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
    'shant': "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", 'shouldve': "should've",
    'shouldnt': "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": 'somebodyd',
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've", 'somebodyll': "somebody'll",
    'somebodys': "somebody's", 'someoned': "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
    'someonell': "someone'll", 'someones': "someone's", 'somethingd': "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've", 'somethingll': "something'll",
    'thats': "that's", 'thered': "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    'therere': "there're", 'theres': "there's", 'theyd': "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    'theyll': "they'll", 'theyre': "they're", 'theyve': "they've", 'twas': "'twas", 'wasnt': "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", 'weve': "we've", 'werent': "weren't", 'whatll': "what'll",
    'whatre': "what're", 'whats': "what's", 'whatve': "what've", 'whens': "when's", 'whered': "where'd",
    'wheres': "where's", 'whereve': "where've", 'whod': "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    'wholl': "who'll", 'whos': "who's", 'whove': "who've", 'whyll': "why'll", 'whyre': "why're", 'whys': "why's",
    'wont': "won't", 'wouldve': "would've", 'wouldnt': "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", 'yall': "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", 'youd': "you'd",
    "youd've": "you'd've", "you'dve": "you'd've", 'youll': "you'll", 'youre': "you're", 'youve': "you've",
}


def process_punctuation(text: str) -> str:
    """The official ``processPunctuation``: punctuation removed or spaced, periods not before a digit removed.

    A mark is deleted when it touches a space somewhere in the text (``"p "`` or ``" p"``) or when the text has a
    digit-comma-digit group; otherwise it is replaced by a space. The test looks at the input text, not at the
    partly processed one.

    Args:
        text: An answer string.

    Returns:
        The string with punctuation processed (not lower-cased, whitespace not collapsed).
    """
    out = text
    digit_comma = _DIGIT_COMMA.search(text) is not None
    for mark in PUNCTUATION:
        touches_space = (mark + ' ') in text or (' ' + mark) in text
        out = out.replace(mark, '' if touches_space or digit_comma else ' ')
    return _PERIOD.sub('', out, count=_PERIOD_COUNT)


def process_digit_article(text: str) -> str:
    """The official ``processDigitArticle``: lower-case, number words to digits, drop articles, contractions.

    Args:
        text: An answer string (usually after :func:`process_punctuation`).

    Returns:
        The words joined by single spaces.
    """
    words = [NUMBER_WORDS.get(word, word) for word in text.lower().split()]
    words = [word for word in words if word not in ARTICLES]
    return ' '.join(CONTRACTIONS.get(word, word) for word in words)


def normalize_answer(answer: str) -> str:
    """Normalise an answer as the official script normalises a *prediction*.

    Steps (all of the official ones for predictions): newlines and tabs to spaces, strip, ``processPunctuation``
    (:func:`process_punctuation`), then ``processDigitArticle`` (:func:`process_digit_article`: lower-case, number
    words "none"/"zero".."ten" to digits, articles a/an/the dropped, contractions such as "dont" -> "don't").
    The official script applies only ``processPunctuation`` to ground-truth answers (see :func:`vqa_accuracy`).

    The answer vocabulary is built with :func:`normalize_vocab_answer` instead (unilm's ``glossary.normalize_word``):
    the same two steps without the whitespace step, which is not moot: a space at either end decides whether a
    punctuation mark next to it is removed or turned into a space.

    Args:
        answer: A raw answer string.

    Returns:
        The normalised answer.
    """
    answer = answer.replace('\n', ' ').replace('\t', ' ').strip()
    return process_digit_article(process_punctuation(answer))


def normalize_vocab_answer(answer: str) -> str:
    """The answer-vocabulary normalisation of ViLT / BEiT-3 (unilm ``beit3/glossary.py:168-190``, ``normalize_word``).

    :func:`process_punctuation` and :func:`process_digit_article` on the raw string (no newline / tab replacement,
    no strip, unlike :func:`normalize_answer`), then commas removed (none are left). unilm normalises every
    ``multiple_choice_answer`` with it to build ``answer2label.txt`` (``beit3/datasets.py:454``); e.g.
    ``'a.)aa?) '`` -> ``'aaa'`` here and ``'aa'`` through :func:`normalize_answer`.

    Args:
        answer: A raw answer string.

    Returns:
        The normalised answer.
    """
    return process_digit_article(process_punctuation(answer)).replace(',', '')


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """The official VQA accuracy of one predicted answer, in [0, 1].

    Args:
        prediction: The predicted answer (raw; normalised here with :func:`normalize_answer`).
        answers: The annotators' raw answers (10 in VQAv2).

    Returns:
        The mean over the annotators of ``min(1, matches among the other annotators / 3)``.

    Raises:
        ValueError: If ``answers`` is empty or not a sequence of strings.
    """
    if isinstance(answers, str) or not answers or not all(isinstance(a, str) for a in answers):
        raise ValueError(f'vqa_accuracy needs a non-empty list of answer strings, got {answers!r}')
    pred = normalize_answer(prediction)
    gts: List[str] = list(answers)
    if len(set(gts)) > 1:  # the official script leaves identical answer sets untouched
        gts = [process_punctuation(a) for a in gts]
    matches = [int(gt == pred) for gt in gts]
    total = sum(matches)
    # Annotator i left out: the others match total - matches[i] times. mean_i min(1, x_i / 3) is summed in
    # integers and divided once, so the result is the correctly rounded value (0.6, not 0.5999999999999999).
    return sum(min(3, total - m) for m in matches) / (3 * len(gts))
