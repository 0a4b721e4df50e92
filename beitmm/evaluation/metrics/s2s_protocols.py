"""The official evaluation protocols of s2s-ft / UniLM v1, re-written: question generation and summarization ROUGE.

- ``'qg'`` (unilm-v1 ``src/qg/eval_on_unilm_tokenized_ref.py``, the protocol of the README's 22.78 / 25.49 / 51.57
  on UniLM's tokenized references): references ``##``-merged and lower-cased, predictions lower-cased; examples
  grouped by their (lower-cased) source line: every reference of the group counts, the group's last prediction is
  scored (multi-reference); coco ``Bleu(4)``, ``Meteor``, ``Rouge`` (ROUGE-L, beta 1.2) of ``pycocoevalcap``.
- ``'qg-du'`` (``src/qg/eval.py``, Du et al.'s tokenized references, README note: 22.17 / 25.47 / 51.53):
  references as given, predictions through :func:`fix_tokenization` (``'qg'`` table) and lower-cased.
- ``'xsum'`` / ``'cnndm'`` (s2s-ft ``evaluations/eval_for_{xsum,cnndm}.py``): predictions through
  :func:`fix_tokenization` and ``( ) -> -LRB- -RRB-`` (CNN/DM also ``[ ] -> -LSB- -RSB-``); CNN/DM splits gold at
  `` <S_SEP> `` and predictions at ``[X_SEP]``, drops prediction sentences of <= 4 tokens and sentences whose
  words overlap the earlier ones by more than ``duplicate_rate`` (0.7), then keeps ``trunc_len`` tokens (README:
  160). ROUGE-1 / 2 F1 and the summary-level ROUGE-L (union LCS over the sentences), averaged over examples.
  s2s-ft scores with ``py-rouge`` (``max_n=2``, ``apply_avg``; or ROUGE-1.5.5 with ``--perl``); beitmm with
  ``rouge-score`` (Porter stemming, ``rougeLsum`` for the summary-level ROUGE-L): the same tokenization of
  lower-cased ``[a-z0-9]`` words; py-rouge also maps irregular forms through its WordNet table before stemming and
  needs NLTK's ``punkt`` data (a download), so it is not used here.
"""
import string
from typing import Dict, List, Sequence

PROTOCOLS = ('qg', 'qg-du', 'xsum', 'cnndm')
# eval.py (qg) and eval_for_cnndm.py (cnndm) map these tokens; eval_for_xsum.py maps none
_TOKEN_MAPS = dict(qg={'(': '-lrb-', ')': '-rrb-', '[': '-lsb-', ']': '-rsb-', '{': '-lcb-', '}': '-rcb-',
                       '[UNK]': 'UNK', '&': '&amp;', '<': '&lt;', '>': '&gt;'},
                   cnndm={'(': '-LRB-', ')': '-RRB-', '[': '-LSB-', ']': '-RSB-', '{': '-LCB-', '}': '-RCB-'},
                   xsum={})


def _digits(word: str) -> bool:
    return all(ch.isdigit() or ch == ',' for ch in word)


def fix_tokenization(text: str, variant: str = 'qg') -> str:
    """Re-attach split tokens as the official scripts do (``n't``, ``'s``, ``...``, ``3,000``, ``3.03``, ``U.N``).

    ``'qg'`` / ``'cnndm'`` also turn quotes into ````` / ``''`` pairs and glue ``a - b`` into ``a-b``; ``'xsum'``
    does neither. The U.N. rule advances two tokens only, as the official loop does.

    Args:
        text: Space-separated tokens.
        variant: ``'qg'`` (``qg/eval.py``), ``'cnndm'`` or ``'xsum'`` (``evaluations/eval_for_*.py``).

    Returns:
        The re-joined tokens.
    """
    table, rich = _TOKEN_MAPS[variant], variant != 'xsum'
    toks, out = text.split(), []
    n, i = len(toks), 0
    quote = single = prev_dash = False
    while i < n:
        tok, nxt = toks[i], toks[i + 1] if i + 1 < n else None
        dash_now, step = False, 1
        if tok in table:
            out.append(table[tok])
        elif rich and tok == '"':
            out.append("''" if quote else '``')
            quote = not quote
        elif tok == "'" and out and out[-1].endswith('n') and nxt == 't':
            out[-1] = out[-1][:-1]
            out.append("n't")
            step = 2
        elif tok == "'" and nxt in ('s', 'd', 'll'):
            out.append("'" + nxt)
            step = 2
        elif rich and tok == "'":
            out.append("'" if single else '`')
            single = not single
        elif tok == '.' and i < n - 2 and nxt == '.' and toks[i + 2] == '.':
            out.append('...')
            step = 3
        elif tok == ',' and out and _digits(out[-1]) and nxt is not None and _digits(nxt):
            out[-1] += ',' + nxt
            step = 2
        elif tok == '.' and out and out[-1].isdigit() and nxt is not None and nxt.isdigit():
            out[-1] += '.' + nxt
            step = 2
        elif (tok == '.' and out and len(out[-1]) == 1 and out[-1].isupper() and i < n - 2 and len(nxt) == 1
              and nxt.isupper() and toks[i + 2] == '.'):
            k = i + 3
            while k + 2 < n and len(toks[k + 1]) == 1 and toks[k + 1].isupper() and toks[k + 2] == '.':
                k += 2
            out[-1] += ''.join(toks[i:k])
            step = 2
        elif rich and tok == '-':
            if nxt == '-':
                out.append('--')
                step = 2
            elif i in (0, n - 1):
                out.append('-')
            elif out[-1] not in string.punctuation and nxt[0] not in string.punctuation:
                out[-1] += '-'
                dash_now = True
            else:
                out.append('-')
        elif prev_dash and out and tok[0] not in string.punctuation:
            out[-1] += tok
        else:
            out.append(tok)
        i += step
        prev_dash = dash_now
    return ' '.join(out)


def _merge_pieces(text: str) -> str:
    words: List[str] = []
    for t in text.split():
        if t.startswith('##') and words:
            words[-1] += t[2:]
        else:
            words.append(t)
    return ' '.join(words)


def qg_scores(preds: Sequence[str], refs: Sequence[str], sources: Sequence[str], protocol: str = 'qg'):
    """BLEU-4 / METEOR / ROUGE-L x 100 of question generation by the unilm-v1 scripts (module docstring).

    Args:
        preds: Predicted questions (s2s-ft output text).
        refs: Reference questions, aligned with ``preds``.
        sources: Source lines (paragraph [SEP] answer), aligned: equal lower-cased sources form one group.
        protocol: ``'qg'`` or ``'qg-du'``.

    Returns:
        ``{'bleu4', 'meteor', 'rougeL'}``.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    res: Dict[str, List[str]] = {}
    gts: Dict[str, List[str]] = {}
    for pred, ref, src in zip(preds, refs, sources, strict=True):
        key = src.strip().lower()
        pred = pred.strip().lower() if protocol == 'qg' else fix_tokenization(pred.strip(), 'qg').lower()
        res[key] = [pred]  # the group's last prediction, as the official dict assignment
        gts.setdefault(key, []).append(_merge_pieces(ref.strip()).lower() if protocol == 'qg' else ref.strip())
    if not res:
        return dict(bleu4=0.0, meteor=0.0, rougeL=0.0)
    bleu = Bleu(4).compute_score(gts, res, verbose=0)[0][3]
    meteor = Meteor().compute_score(gts, res)[0]
    rouge = Rouge().compute_score(gts, res)[0]
    return dict(bleu4=100.0 * bleu, meteor=100.0 * float(meteor), rougeL=100.0 * float(rouge))


def _remove_duplicates(sentences: List[str], rate: float) -> List[str]:
    kept, seen = [], set()
    for s in sentences:
        words = set(s.lower().split())
        if len(words & seen) / len(words) <= rate:
            kept.append(s)
        seen |= words
    return kept


def summary_prediction(text: str, variant: str, trunc_len: int = 0, duplicate_rate: float = 0.7) -> List[str]:
    """The sentences of a prediction as ``eval_for_{xsum,cnndm}.py`` scores them (module docstring).

    Args:
        text: One prediction line (sentences joined by ``[X_SEP]``).
        variant: ``'xsum'`` or ``'cnndm'``.
        trunc_len: Keep this many tokens (0: all; the CNN/DM README passes 160).
        duplicate_rate: CNN/DM: drop a sentence sharing more than this fraction of its words with earlier ones.

    Returns:
        The sentences.
    """
    parts = text.strip().split('[X_SEP]') if variant == 'cnndm' else [text.strip()]
    kept = []
    for s in parts:
        s = fix_tokenization(s, variant).replace('(', ' -LRB- ').replace(')', ' -RRB- ')
        if variant == 'cnndm':
            s = s.replace('[', ' -LSB- ').replace(']', ' -RSB- ')
        while '  ' in s:
            s = s.replace('  ', ' ')
        if variant == 'cnndm' and len(s.split()) <= 4:
            continue
        kept.append(s)
    if variant == 'cnndm' and duplicate_rate and duplicate_rate < 1:
        kept = _remove_duplicates(kept, duplicate_rate)
    if trunc_len:
        out, left = [], trunc_len
        for s in kept:
            words = s.split()
            out.append(' '.join(words[:left]))
            left -= min(len(words), left)
            if left <= 0:
                break
        kept = out
    return kept


def summary_rouge(preds: Sequence[str], golds: Sequence[str], variant: str, trunc_len: int = 0,
                  duplicate_rate: float = 0.7) -> Dict[str, float]:
    """ROUGE-1 / 2 / L F1 x 100 by the ``eval_for_{xsum,cnndm}.py`` protocol, scored with rouge-score.

    Args:
        preds: Prediction lines.
        golds: Gold lines (CNN/DM: sentences joined by `` <S_SEP> ``).
        variant: ``'xsum'`` or ``'cnndm'``.
        trunc_len: See :func:`summary_prediction`.
        duplicate_rate: See :func:`summary_prediction`.

    Returns:
        ``{'rouge1', 'rouge2', 'rougeL'}`` (``rougeL``: the summary-level union LCS over the sentences).
    """
    from rouge_score import rouge_scorer
    scorer = rouge_scorer.RougeScorer(['rouge1', 'rouge2', 'rougeLsum'], use_stemmer=True)
    totals = dict(rouge1=0.0, rouge2=0.0, rougeL=0.0)
    for pred, gold in zip(preds, golds, strict=True):
        gold = gold.strip().replace(' <S_SEP> ', '\n') if variant == 'cnndm' else gold.strip()
        hyp = '\n'.join(summary_prediction(pred, variant, trunc_len, duplicate_rate))
        score = scorer.score(gold, hyp)  # score(target, prediction)
        for key, name in (('rouge1', 'rouge1'), ('rouge2', 'rouge2'), ('rougeL', 'rougeLsum')):
            totals[key] += score[name].fmeasure
    return {k: 100.0 * v / max(len(preds), 1) for k, v in totals.items()}
