"""COCO caption metrics through pycocoevalcap, against references from the data samples or from a local file.

mmpretrain's ``COCOCaption`` goes through ``COCOEvalCap``, whose SPICE scorer downloads Stanford CoreNLP at run
time, and it reports fractions. This metric calls the pycocoevalcap scorers directly (same tokenisation and
scores), skips SPICE with one warning when its jars are missing, reads the references from the samples'
``gt_caption`` or a local file (never a download), and reports percentages as papers do (CIDEr 133.6).
"""
import json
import logging
import os
import os.path as osp
import shutil
import subprocess
import tempfile
from typing import Dict, List, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from beitmm.registry import METRICS

ALL_METRICS = ('Bleu', 'METEOR', 'ROUGE_L', 'CIDEr', 'SPICE')
_SPICE_WARNED = []  # one warning per process


def _key(image_id) -> Union[int, str]:
    """An image id as a dict key: int when it is integral (tensor, numpy, str of digits), else str."""
    value = image_id.item() if hasattr(image_id, 'item') else image_id
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _package_dir() -> str:
    import pycocoevalcap
    return list(pycocoevalcap.__path__)[0]


def spice_jars_present() -> bool:
    """Whether the Stanford CoreNLP 3.6.0 jars SPICE needs are in ``pycocoevalcap/spice/lib``."""
    lib = osp.join(_package_dir(), 'spice', 'lib')
    return all(osp.isfile(osp.join(lib, f'stanford-corenlp-3.6.0{s}.jar')) for s in ('', '-models'))


def ptb_tokenize(captions: Dict[Union[int, str], List[str]]) -> Dict[Union[int, str], List[str]]:
    """PTB tokenisation as pycocoevalcap's (Stanford PTBTokenizer, lower-cased, its punctuation tokens dropped).

    Same command and filtering as ``pycocoevalcap.tokenizer.ptbtokenizer.PTBTokenizer``, but the temporary file
    lives in the system temp directory, so a read-only site-packages works.

    Args:
        captions: Image id -> list of raw captions.

    Returns:
        Image id -> list of tokenised captions (tokens joined by spaces), same order.
    """
    from pycocoevalcap.tokenizer import ptbtokenizer
    ids = [k for k, caps in captions.items() for _ in caps]
    lines = [c.replace('\n', ' ').replace('\r', ' ') for caps in captions.values() for c in caps]
    jar = osp.join(osp.dirname(ptbtokenizer.__file__), ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR)
    with tempfile.NamedTemporaryFile('w', suffix='.txt', encoding='utf-8', delete=False) as f:
        f.write('\n'.join(lines))
    try:
        out = subprocess.run(['java', '-cp', jar, 'edu.stanford.nlp.process.PTBTokenizer', '-preserveLines',
                              '-lowerCase', f.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        os.remove(f.name)
    if out.returncode != 0:
        raise RuntimeError(f'PTB tokenisation ({jar}) failed: {out.stderr.decode("utf-8", "replace")[-2000:]}')
    token_lines = out.stdout.decode('utf-8', 'replace').split('\n')[:len(lines)]  # the output ends with a newline
    if len(token_lines) != len(lines):
        raise RuntimeError(f'PTB tokenisation returned {len(token_lines)} lines for {len(lines)} captions')
    result: Dict = {k: [] for k in captions}
    for k, line in zip(ids, token_lines, strict=True):
        result[k].append(' '.join(w for w in line.rstrip().split(' ') if w not in ptbtokenizer.PUNCTUATIONS))
    return result


def load_references(ann_file: str, split: Optional[Union[str, Sequence[str]]] = None) -> Dict:
    """Reference captions from a local file: COCO caption format or a Karpathy ``dataset_*.json``.

    Args:
        ann_file: ``{"annotations": [{"image_id", "caption"}, ...]}`` (e.g. LAVIS ``coco_karpathy_test_gt.json``)
            or ``{"images": [{"cocoid"/"imgid", "split", "sentences": [{"raw"}]}]}`` (Karpathy).
        split: For a Karpathy file, the split(s) to read (``'test'``, ``'val'``); ignored for COCO format.

    Returns:
        Image id (``cocoid`` when present, else ``imgid``) -> list of raw reference captions.
    """
    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    refs: Dict = {}
    if isinstance(data, dict) and isinstance(data.get('annotations'), list):
        for ann in data['annotations']:
            refs.setdefault(_key(ann['image_id']), []).append(ann['caption'])
        return refs
    if isinstance(data, dict) and isinstance(data.get('images'), list) and data['images'] \
            and 'sentences' in data['images'][0]:
        if split is None:
            raise ValueError(f'CaptionMetric: {ann_file} is a Karpathy split file; set split (e.g. "test")')
        splits = {split} if isinstance(split, str) else set(split)
        for img in data['images']:
            if img.get('split') in splits:
                refs[_key(img.get('cocoid', img.get('imgid')))] = [s['raw'] for s in img['sentences']]
        if not refs:
            raise ValueError(f'CaptionMetric: {ann_file} has no image in split {sorted(splits)}')
        return refs
    raise ValueError(f'CaptionMetric: {ann_file} is neither COCO caption format ({{"annotations": [{{"image_id", '
                     '"caption"}}]}}) nor a Karpathy dataset_*.json ({"images": [{"sentences", "split"}]})')


@METRICS.register_module()
class CaptionMetric(BaseMetric):
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr (and SPICE when possible) in percent, through pycocoevalcap.

    Reads ``pred_caption`` and ``image_id`` from each data sample; the references are ``ann_file`` when given,
    else each sample's ``gt_caption`` (list of str). Duplicated image ids keep their first prediction; only the
    predicted images are scored (as mmpretrain's ``COCOCaption``), and a predicted image that ``ann_file`` lacks is
    an error (the wrong split). Java is needed (PTB tokenisation, METEOR, SPICE). Runs on the main process only.
    With ``file_path`` the predictions are also written as ``[{"image_id": int, "caption": str}]`` (unilm's
    prediction file, the format of the NoCaps EvalAI server); a split without references (NoCaps test) is then
    only written, and the metric reports nothing.

    Args:
        ann_file: Local references: COCO caption format (LAVIS ``coco_karpathy_test_gt.json``) or a Karpathy
            ``dataset_coco.json``; ``None`` uses the samples' ``gt_caption``.
        split: Split(s) of a Karpathy ``ann_file`` to read, e.g. ``'test'``.
        scorers: Scorers among ``'Bleu'`` (Bleu_1..Bleu_4), ``'METEOR'``, ``'ROUGE_L'``, ``'CIDEr'``, ``'SPICE'``.
            SPICE needs the Stanford CoreNLP 3.6.0 jars; without them it is skipped with one warning.
        collect_device: Device used to gather results across ranks, ``'cpu'`` or ``'gpu'``.
        prefix: Prefix of the metric names; ``'caption'`` by default (``caption/CIDEr``).
        file_path: Where to write the predictions (a ``.json`` file); ``None`` writes nothing.
    """
    default_prefix: Optional[str] = 'caption'

    def __init__(self, ann_file: Optional[str] = None, split: Optional[Union[str, Sequence[str]]] = None,
                 scorers: Sequence[str] = ALL_METRICS, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, file_path: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        # not named `metrics`: mmengine builds an evaluator dict with a `metrics` key as an Evaluator
        unknown = set(scorers).difference(ALL_METRICS)
        if unknown:
            raise ValueError(f'CaptionMetric: unknown scorers {sorted(unknown)}; choose from {ALL_METRICS}')
        if ann_file is not None and not osp.isfile(ann_file):
            raise FileNotFoundError(f'CaptionMetric: ann_file {ann_file!r} does not exist (references are never '
                                    'downloaded)')
        if file_path is not None and not file_path.endswith('.json'):
            raise ValueError(f'CaptionMetric: file_path must be a .json file, got {file_path!r}')
        self.ann_file, self.split, self.file_path = ann_file, split, file_path
        self.scorers = tuple(scorers)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep ``image_id``, ``pred_caption`` and (without ``ann_file``) ``gt_caption`` of each sample.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples: Model outputs (dicts or ``DataSample``).
        """
        for sample in data_samples:
            image_id, caption = sample.get('image_id'), sample.get('pred_caption')
            if image_id is None or caption is None:
                raise KeyError(f'CaptionMetric: every data sample needs image_id and pred_caption, got image_id='
                               f'{image_id!r}, pred_caption={caption!r}')
            refs = None
            if self.ann_file is None:
                refs = sample.get('gt_caption')
                refs = [refs] if isinstance(refs, str) else refs
                if not refs and self.file_path is None:
                    raise KeyError(f'CaptionMetric: image {image_id} has no gt_caption and no ann_file is set')
                refs = [str(r) for r in refs] if refs else None
            self.results.append(dict(image_id=_key(image_id), caption=str(caption), refs=refs))

    def _references(self, results: List[dict]) -> Dict:
        if self.ann_file is not None:
            refs = load_references(self.ann_file, self.split)
            missing = [r['image_id'] for r in results if r['image_id'] not in refs]
            if missing:
                raise ValueError(f'CaptionMetric: {len(missing)} predicted images are not in {self.ann_file} (e.g. '
                                 f'{missing[:5]}): wrong split or wrong image ids?')
            return {r['image_id']: refs[r['image_id']] for r in results}
        return {r['image_id']: r['refs'] for r in results}

    def _write(self, results: List[dict]) -> None:
        """Write ``[{"image_id", "caption"}]`` in prediction order."""
        os.makedirs(osp.dirname(osp.abspath(self.file_path)), exist_ok=True)
        with open(self.file_path, 'w', encoding='utf-8') as f:
            json.dump([dict(image_id=r['image_id'], caption=r['caption']) for r in results], f)
        print_log(f'CaptionMetric: wrote {len(results)} captions to {self.file_path}', logger='current')

    def _scorers(self) -> list:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
        from pycocoevalcap.rouge.rouge import Rouge
        makers = dict(Bleu=Bleu, METEOR=Meteor, ROUGE_L=Rouge, CIDEr=Cider)
        scorers = [(name, makers[name]()) for name in self.scorers if name != 'SPICE']
        if 'SPICE' in self.scorers:
            if spice_jars_present():
                from pycocoevalcap.spice.spice import Spice
                scorers.append(('SPICE', Spice()))
            elif not _SPICE_WARNED:
                _SPICE_WARNED.append(True)
                lib = osp.join(_package_dir(), 'spice', 'lib')
                print_log('CaptionMetric: SPICE skipped: it needs stanford-corenlp-3.6.0.jar and '
                          'stanford-corenlp-3.6.0-models.jar (from stanford-corenlp-full-2015-12-09.zip, '
                          f'https://nlp.stanford.edu/software/) in {lib}. Copy them there to get SPICE.',
                          logger='current', level=logging.WARNING)
        return scorers

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Tokenise with PTB and run the scorers.

        Args:
            results: The gathered per-sample dicts of :meth:`process`.

        Returns:
            ``Bleu_1`` .. ``Bleu_4``, ``METEOR``, ``ROUGE_L``, ``CIDEr`` (and ``SPICE``) in percent.
        """
        if shutil.which('java') is None:
            raise RuntimeError('CaptionMetric: pycocoevalcap needs Java (PTB tokenisation, METEOR, SPICE); install '
                               'a Java runtime (e.g. apt-get install default-jre)')
        unique, dupes = {}, 0
        for r in results:
            dupes += r['image_id'] in unique
            unique.setdefault(r['image_id'], r)
        results = list(unique.values())
        if not results:
            raise ValueError('CaptionMetric: no predictions to score')
        if dupes:
            print_log(f'CaptionMetric: {dupes} duplicated image ids; their first prediction is kept',
                      logger='current', level=logging.WARNING)
        if self.file_path is not None:
            self._write(results)
        if self.ann_file is None and any(r['refs'] is None for r in results):
            if all(r['refs'] is None for r in results):  # e.g. NoCaps test: scored by the EvalAI server
                print_log(f'CaptionMetric: no references (a test split?): {len(results)} captions written to '
                          f'{self.file_path}, nothing scored', logger='current')
                return {}
            raise KeyError('CaptionMetric: some images have gt_caption and some do not: a mixed split?')
        refs = self._references(results)
        empty_pred = sum(not r['caption'].strip() for r in results)
        empty_refs = sum(not c.strip() for v in refs.values() for c in v)
        if empty_pred or empty_refs:
            print_log(f'CaptionMetric: {empty_pred} empty predicted captions (scored as empty) and {empty_refs} '
                      'empty reference captions (dropped)', logger='current', level=logging.WARNING)
        refs = {k: [c for c in v if c.strip()] for k, v in refs.items()}
        bare = [k for k, v in refs.items() if not v]
        if bare:
            raise ValueError(f'CaptionMetric: {len(bare)} images have only empty references, e.g. {bare[:5]}')
        gts = ptb_tokenize(refs)
        res = ptb_tokenize({r['image_id']: [r['caption']] for r in results})
        metrics = {}
        for name, scorer in self._scorers():
            try:
                score, _ = scorer.compute_score(gts, res, verbose=0) if name == 'Bleu' \
                    else scorer.compute_score(gts, res)
            except subprocess.CalledProcessError as e:  # SPICE's Java side (e.g. an unsupported JVM)
                print_log(f'CaptionMetric: {name} failed ({e}); skipped', logger='current', level=logging.WARNING)
                continue
            if name == 'Bleu':
                metrics.update({f'Bleu_{n + 1}': 100.0 * float(s) for n, s in enumerate(score)})
            else:
                metrics[name] = 100.0 * float(score)
        return metrics
