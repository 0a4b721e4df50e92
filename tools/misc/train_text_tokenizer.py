"""Train a small text vocabulary offline: SentencePiece (BEiT-3 / XLM-R layout) or BERT WordPiece (VLMo).

    python tools/misc/train_text_tokenizer.py sentencepiece TEXT [TEXT ...] --out tiny.spm --vocab-size 8000 \
        [--model-type unigram|bpe] [--character-coverage 0.9995] [--user-symbols A B] [--max-sentences N]
    python tools/misc/train_text_tokenizer.py wordpiece TEXT [TEXT ...] --out vocab.txt --vocab-size 8000 \
        [--cased] [--min-frequency 2] [--limit-alphabet 1000]

TEXT files are UTF-8, one sentence a line (captions, questions, ...). No download: for the official vocabularies
use BEiT-3's ``beit3.spm`` or bert-base-uncased's ``vocab.txt`` directly. The outputs load with
``dict(type='beitmm.SentencePieceTokenizer', model_file=OUT)`` / ``dict(type='beitmm.WordPieceTokenizer',
vocab_file=OUT)`` (and with ``transformers.XLMRobertaTokenizer`` / ``BertTokenizer``). A SentencePiece model of N
pieces gives N + 2 ids (``<pad>``, ``<mask>`` added): build the text embedding with at least that many rows.
"""
import argparse
import os.path as osp
import runpy
import time

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from beitmm.text import SentencePieceTokenizer, WordPieceTokenizer, train_sentencepiece, train_wordpiece
from beitmm.text.training import iter_lines


def parse_args(argv=None) -> argparse.Namespace:
    """Command line: a sub-command per vocabulary kind."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='kind', required=True)
    sp = sub.add_parser('sentencepiece', help='SentencePiece model for beitmm.SentencePieceTokenizer (BEiT-3)')
    wp = sub.add_parser('wordpiece', help='BERT vocab.txt for beitmm.WordPieceTokenizer (VLMo)')
    for p in (sp, wp):
        p.add_argument('texts', nargs='+', help='UTF-8 text files, one sentence a line')
        p.add_argument('--out', required=True, help='output file (*.spm / *.model, or vocab.txt)')
        p.add_argument('--vocab-size', type=int, required=True,
                       help='SentencePiece pieces (ids = pieces + 2) / WordPiece tokens (special tokens included)')
        p.add_argument('--quiet', action='store_true', help='no progress messages')
    sp.add_argument('--model-type', choices=['unigram', 'bpe'], default='unigram', help="XLM-R's is unigram")
    sp.add_argument('--character-coverage', type=float, default=0.9995,
                    help='share of characters the pieces cover (1.0 for small alphabets)')
    sp.add_argument('--user-symbols', nargs='*', default=[], help='pieces always kept whole')
    sp.add_argument('--max-sentences', type=int, default=0, help='train on a random sample of N sentences (0: all)')
    sp.add_argument('--soft-vocab-limit', action='store_true',
                    help='allow fewer pieces than --vocab-size when the text is too small')
    sp.add_argument('--threads', type=int, default=1, help='trainer threads')
    wp.add_argument('--cased', action='store_true', help='keep case and accents (load with lowercase=False)')
    wp.add_argument('--min-frequency', type=int, default=2, help='minimum count of a learned merge')
    wp.add_argument('--limit-alphabet', type=int, default=1000, help='keep at most this many characters')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Train, write, reload with the beitmm tokenizer and show one encoded sentence."""
    args = parse_args(argv)
    log = None if args.quiet else (lambda msg: print(f'[train_text_tokenizer] {msg}', flush=True))
    start = time.time()
    if args.kind == 'sentencepiece':
        out = train_sentencepiece(args.texts, args.out, args.vocab_size, model_type=args.model_type,
                                  character_coverage=args.character_coverage, user_defined_symbols=args.user_symbols,
                                  max_sentences=args.max_sentences, hard_vocab_limit=not args.soft_vocab_limit,
                                  num_threads=args.threads, log=log)
        tokenizer = SentencePieceTokenizer(out)
        cfg = f"dict(type='beitmm.SentencePieceTokenizer', model_file='{out}')"
    else:
        out = train_wordpiece(args.texts, args.out, args.vocab_size, lowercase=not args.cased,
                              min_frequency=args.min_frequency, limit_alphabet=args.limit_alphabet, log=log)
        tokenizer = WordPieceTokenizer(out, lowercase=not args.cased)
        cfg = f"dict(type='beitmm.WordPieceTokenizer', vocab_file='{out}'{', lowercase=False' if args.cased else ''})"
    if log:
        example = next(iter_lines(args.texts[:1], log=None))
        ids = tokenizer.encode(example)
        log(f'done in {time.time() - start:.1f}s: {tokenizer.vocab_size} ids, special ids {tokenizer.special_ids}')
        log(f'example: {example[:80]!r} -> {ids[:24]}{" ..." if len(ids) > 24 else ""} '
            f'-> {tokenizer.decode(ids)[:80]!r}')
        log(f'load it with {cfg}')


if __name__ == '__main__':
    main()
