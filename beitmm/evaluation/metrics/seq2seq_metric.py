"""ROUGE-1/2/L/Lsum (rouge-score) and BLEU-4 (sacrebleu) of generated text, with the prediction file s2s-ft writes.

Sentence breaks: ROUGE-Lsum scores the union LCS over sentences, which rouge-score reads as lines. A break is a
newline, s2s-ft's ``[X_SEP]`` (its decoder writes newlines as `` [X_SEP] ``) or the ``<n>`` of the PEGASUS-style
CNN/DM files; each becomes a newline for ROUGE-Lsum and a space for everything else. Text without any break is one
sentence, so its ROUGE-Lsum equals its ROUGE-L (no sentence splitter is run: nltk's punkt is a download).
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from beitmm.registry import METRICS

from .s2s_protocols import PROTOCOLS, qg_scores, summary_rouge

ROUGE_TYPES = ('rouge1', 'rouge2', 'rougeL', 'rougeLsum')
SENTENCE_MARKERS = ('[X_SEP]', '<n>')


def _split_sentences(text: str, markers: Sequence[str]) -> List[str]:
    """Non-empty sentences of ``text``, broken at newlines and at ``markers``."""
    for marker in markers:
        text = text.replace(marker, '\n')
    return [s.strip() for s in text.split('\n') if s.strip()]


def _merge_wordpieces(text: str) -> str:
    return re.sub(r' ##(?=\S)', '', text)


def seq2seq_scores(preds: Sequence[str], refs: Sequence[str], rouge_types: Sequence[str] = ROUGE_TYPES,
                   bleu: bool = True, use_stemmer: bool = True, lowercase_bleu: bool = False,
                   sentence_markers: Sequence[str] = SENTENCE_MARKERS, meteor: bool = False) -> Dict[str, float]:
    """Corpus scores of predictions against one reference each, in percent.

    ROUGE: the mean over examples of each example's F1 (``rouge_score.rouge_scorer.RougeScorer``, its default
    tokenizer, which lower-cases and keeps only ``[a-z0-9]``; Porter stemming of tokens longer than 3 characters
    when ``use_stemmer``). BLEU: ``sacrebleu.corpus_bleu`` (BLEU-4, 13a tokenization, exponential smoothing).

    Args:
        preds: Predicted texts.
        refs: Reference texts, aligned with ``preds``.
        rouge_types: Among ``'rouge1'``, ``'rouge2'``, ``'rougeL'``, ``'rougeLsum'``.
        bleu: Whether to add ``bleu4``.
        use_stemmer: Porter stemming in ROUGE (as the s2s-ft and HF evaluations).
        lowercase_bleu: Lower-case both sides for BLEU (the uncased QG references of Du et al.).
        sentence_markers: Strings that break sentences besides newlines (see the module docstring).
        meteor: Add ``meteor``: METEOR 1.5 of pycocoevalcap (Java) on the lower-cased texts, x 100, as the question
            generation papers report it (UniLM / MiniLM SQuAD QG tables).

    Returns:
        ``{rouge_type: F1 x 100, 'bleu4': BLEU, 'meteor': METEOR}``; all 0 for an empty corpus.
    """
    if len(preds) != len(refs):
        raise ValueError(f'seq2seq_scores: {len(preds)} predictions but {len(refs)} references')
    unknown = set(rouge_types).difference(ROUGE_TYPES)
    if unknown:
        raise ValueError(f'seq2seq_scores: unknown rouge types {sorted(unknown)}; choose from {ROUGE_TYPES}')
    pred_sents = [_split_sentences(p, sentence_markers) for p in preds]
    ref_sents = [_split_sentences(r, sentence_markers) for r in refs]
    scores: Dict[str, float] = {}
    if rouge_types:
        from rouge_score import rouge_scorer
        scorer = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=use_stemmer)
        totals = dict.fromkeys(rouge_types, 0.0)
        for p, r in zip(pred_sents, ref_sents, strict=True):
            for name, score in scorer.score('\n'.join(r), '\n'.join(p)).items():  # score(target, prediction)
                totals[name] += score.fmeasure
        scores.update({k: 100.0 * v / max(len(preds), 1) for k, v in totals.items()})
    if bleu:
        import sacrebleu
        hyps = [' '.join(p) for p in pred_sents]
        scores['bleu4'] = sacrebleu.corpus_bleu(hyps, [[' '.join(r) for r in ref_sents]],
                                                lowercase=lowercase_bleu).score if hyps else 0.0
    if meteor:
        from pycocoevalcap.meteor.meteor import Meteor
        gts = {i: [' '.join(r).lower()] for i, r in enumerate(ref_sents)}
        res = {i: [' '.join(p).lower()] for i, p in enumerate(pred_sents)}
        scores['meteor'] = 100.0 * float(Meteor().compute_score(gts, res)[0]) if res else 0.0
    return scores


def copy_source_scores(sources: Sequence[str], refs: Sequence[str], **kwargs) -> Dict[str, float]:
    """The copy-the-source baseline: the scores of the sources themselves taken as predictions.

    Args:
        sources: Source texts.
        refs: Reference targets, aligned with ``sources``.
        **kwargs: Options of :func:`seq2seq_scores`.

    Returns:
        The :func:`seq2seq_scores` dict.
    """
    return seq2seq_scores(sources, refs, **kwargs)


def _read_references(path: str) -> List[str]:
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    return lines[:-1] if lines and lines[-1] == '' else lines


@METRICS.register_module()
class Seq2SeqMetric(BaseMetric):
    """ROUGE and BLEU-4 of ``pred_text`` against the target ``tgt``, and the one-line-per-input prediction file.

    Reads from each data sample ``pred_text`` (str), ``line`` (the dataset's 0-based example index) and ``tgt``
    (the field ``Seq2SeqDataset`` items carry), or takes the references from ``ref_file``; ``src`` too when
    ``copy_source``. Duplicated ``line`` values (sampler padding) keep their first prediction. Scores are computed,
    and ``output_file`` written, on the main process only, after mmengine has collected the results of all ranks.

    Args:
        rouge_types: ROUGE variants to report (``rouge1``, ``rouge2``, ``rougeL``, ``rougeLsum``).
        bleu: Report ``bleu4`` (sacrebleu corpus BLEU).
        use_stemmer: Porter stemming in ROUGE.
        lowercase_bleu: Lower-case both sides for BLEU.
        merge_wordpiece: Glue `` ##`` WordPiece continuations in predictions and references before scoring.
        output_file: Write the predictions there, one per line in ``line`` order (newlines as `` [X_SEP] ``).
        ref_file: A local reference file (e.g. s2s-ft's ``test.target``), one target per example line; its line
            count is the number of predictions expected.
        num_expected: The number of predictions expected (the split's size): another count is an error, as a
            prediction set for another split would be.
        copy_source: Also report the copy-the-source baseline, as ``copy_<metric>`` keys.
        meteor: Also report ``meteor`` (pycocoevalcap's METEOR 1.5; needs Java), for question generation.
        protocol: Score as an official script instead (:mod:`.s2s_protocols`): ``'qg'`` / ``'qg-du'`` (unilm-v1
            ``qg/eval_on_unilm_tokenized_ref.py`` / ``qg/eval.py``: ``bleu4``, ``meteor``, ``rougeL``, grouped by
            source, so samples need ``src``), ``'xsum'`` / ``'cnndm'`` (s2s-ft ``evaluations/eval_for_*.py``:
            ``rouge1``, ``rouge2``, ``rougeL``). None: the scores above.
        trunc_len: ``'cnndm'`` / ``'xsum'``: prediction tokens kept (``--trunc_len``; CNN/DM README 160, 0: all).
        duplicate_rate: ``'cnndm'``: ``--duplicate_rate`` (0.7).
        collect_device: Device used to gather results across ranks, ``'cpu'`` or ``'gpu'``.
        prefix: Prefix of the metric names; ``'s2s'`` by default (``s2s/rouge2``).
    """

    default_prefix: Optional[str] = 's2s'

    def __init__(self, rouge_types: Sequence[str] = ROUGE_TYPES, bleu: bool = True, use_stemmer: bool = True,
                 lowercase_bleu: bool = False, merge_wordpiece: bool = True, output_file: Optional[str] = None,
                 ref_file: Optional[str] = None, num_expected: Optional[int] = None, copy_source: bool = False,
                 meteor: bool = False, protocol: Optional[str] = None, trunc_len: int = 0,
                 duplicate_rate: float = 0.7, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if protocol is not None and protocol not in PROTOCOLS:
            raise ValueError(f'Seq2SeqMetric: protocol must be None or one of {PROTOCOLS}, got {protocol!r}')
        self.protocol, self.trunc_len, self.duplicate_rate = protocol, trunc_len, duplicate_rate
        unknown = set(rouge_types).difference(ROUGE_TYPES)
        if unknown:
            raise ValueError(f'Seq2SeqMetric: unknown rouge types {sorted(unknown)}; choose from {ROUGE_TYPES}')
        if ref_file is not None and not osp.isfile(ref_file):
            raise FileNotFoundError(f'Seq2SeqMetric: ref_file {ref_file!r} does not exist')
        self.rouge_types = tuple(rouge_types)
        self.bleu, self.meteor = bleu, meteor
        self.use_stemmer = use_stemmer
        self.lowercase_bleu = lowercase_bleu
        self.merge_wordpiece = merge_wordpiece
        self.output_file = output_file
        self.ref_file = ref_file
        self.num_expected = num_expected
        self.copy_source = copy_source

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep ``line``, ``pred_text`` and (without ``ref_file``) ``tgt`` of each sample.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples: Model outputs (dicts or data samples with ``get``).
        """
        for sample in data_samples:
            pred, line = sample.get('pred_text'), sample.get('line')
            if pred is None or line is None:
                raise KeyError(f'Seq2SeqMetric: every data sample needs pred_text and line, got pred_text={pred!r}, '
                               f'line={line!r}')
            result = dict(line=int(line.item() if hasattr(line, 'item') else line), pred=str(pred))
            if self.ref_file is None:
                tgt = sample.get('tgt')
                if tgt is None:
                    raise KeyError(f'Seq2SeqMetric: example {result["line"]} has no tgt and no ref_file is set')
                result['tgt'] = str(tgt)
            if self.copy_source or (self.protocol or '').startswith('qg'):
                src = sample.get('src')
                if src is None:
                    what = 'copy_source needs src' if self.copy_source else f'protocol {self.protocol!r} needs src'
                    raise KeyError(f'Seq2SeqMetric: {what} in the data samples (example {line})')
                result['src'] = str(src)
            self.results.append(result)

    def _check_count(self, results: List[dict], refs: Optional[List[str]]) -> None:
        expected = len(refs) if refs is not None else self.num_expected
        source = f'{self.ref_file} has {expected} lines' if refs is not None else f'num_expected is {expected}'
        if self.num_expected is not None and refs is not None and self.num_expected != len(refs):
            raise ValueError(f'Seq2SeqMetric: num_expected is {self.num_expected} but {source}')
        if expected is None:
            return
        lines = [r['line'] for r in results]
        if len(results) != expected or (lines and (lines[0] != 0 or lines[-1] != expected - 1)):
            raise ValueError(f'Seq2SeqMetric: {len(results)} predictions (lines {lines[:1]}..{lines[-1:]}) but '
                             f'{source}: predictions of another split, or an incomplete run?')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Sort by ``line``, check the count, write ``output_file`` and score.

        Args:
            results: The processed results of all ranks.

        Returns:
            ``rouge1`` ... ``rougeLsum`` (F1 x 100), ``bleu4``, and ``copy_*`` with ``copy_source``.
        """
        by_line: Dict[int, dict] = {}
        for r in results:
            by_line.setdefault(r['line'], r)
        results = [by_line[k] for k in sorted(by_line)]
        refs = _read_references(self.ref_file) if self.ref_file is not None else None
        self._check_count(results, refs)
        if self.output_file is not None:
            out_dir = osp.dirname(osp.abspath(self.output_file))
            os.makedirs(out_dir, exist_ok=True)
            with open(self.output_file, 'w', encoding='utf-8') as f:
                for r in results:
                    f.write(re.sub(r'\s*\r?\n\s*', ' [X_SEP] ', r['pred'].strip()) + '\n')
        tgts = [refs[r['line']] if refs is not None else r['tgt'] for r in results]
        preds = [r['pred'] for r in results]
        if self.protocol in ('qg', 'qg-du'):
            return qg_scores(preds, tgts, [r['src'] for r in results], self.protocol)
        if self.protocol is not None:
            return summary_rouge(preds, tgts, self.protocol, self.trunc_len, self.duplicate_rate)
        if self.merge_wordpiece:
            preds, tgts = [_merge_wordpieces(p) for p in preds], [_merge_wordpieces(t) for t in tgts]
        options = dict(rouge_types=self.rouge_types, bleu=self.bleu, use_stemmer=self.use_stemmer,
                       lowercase_bleu=self.lowercase_bleu, meteor=self.meteor)
        metrics = seq2seq_scores(preds, tgts, **options)
        if self.copy_source:
            srcs = [r['src'] for r in results]
            srcs = [_merge_wordpieces(s) for s in srcs] if self.merge_wordpiece else srcs
            metrics.update({f'copy_{k}': v for k, v in copy_source_scores(srcs, tgts, **options).items()})
        return metrics
