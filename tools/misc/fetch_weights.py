"""Where to get an official checkpoint of the model zoo, and whether a downloaded file is the right one.

    python tools/misc/fetch_weights.py NAME [--out pretrain/] [--verify FILE] [--download]
    python tools/misc/fetch_weights.py --list [PATTERN]

Prints the entry's download address, the path its config reads the file from (under ``--out``), the published
sha256 (or that none is published) and the vocabulary file the model needs. With ``--verify FILE``, or when the file
is already at the expected path, it computes the file's sha256 and size and compares them with the published hash.
Nothing is downloaded unless ``--download`` is given (then with urllib, to the expected path, and verified).
NAME is a zoo name (``beitmm.list_models()``) or an official file name.

Exit status: 0 ok; 1 sha256 mismatch; 2 unknown name (the closest names are listed); 3 download failed; 4 the
file to verify does not exist.
"""
import argparse
import hashlib
import os
import os.path as osp
import re
import runpy
import sys
import urllib.request

runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), '..', '_bootstrap.py'))  # .venv/bin/python where needed

from beitmm.apis.model_zoo import ModelEntry, list_models, model_entry

HUB_SUFFIX = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')  # torch.hub's "name-<sha256 prefix>.ext"


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def expected_path(entry: ModelEntry, out: str) -> str:
    """Where the entry's config reads the file, with its leading ``pretrain/`` replaced by ``out``."""
    rel = entry.path[len('pretrain/'):] if entry.path.startswith('pretrain/') else entry.file
    return osp.join(out, rel)


def verify(entry: ModelEntry, path: str) -> int:
    """Print the file's sha256 and size against the entry's published hash; 0 = ok or no hash, 1 = mismatch."""
    digest, size = sha256_of(path), osp.getsize(path)
    print(f'file:      {path} ({size} bytes, {size / 2**20:.1f} MiB)\nsha256:    {digest}')
    hub = HUB_SUFFIX.search(entry.file)
    if hub:  # not an official hash: a consistency hint only
        agrees = digest.startswith(hub.group(1))
        print(f'name hash: the file name ends in {hub.group(1)} (torch.hub\'s sha256-prefix convention, not a '
              f'published hash): {"consistent" if agrees else "NOT consistent"} with this file')
    if entry.sha256 is None:
        print('no sha256 is published for this checkpoint: compare the size and hash above with another copy')
        return 0
    if digest != entry.sha256.lower():
        print(f'MISMATCH: published sha256 {entry.sha256}: this is not {entry.file} (or it is damaged)',
              file=sys.stderr)
        return 1
    print('sha256 matches the published hash')
    return 0


def download(url: str, dst: str) -> None:
    """Download ``url`` to ``dst`` through a temporary file in the same folder."""
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = f'{dst}.part'
    with urllib.request.urlopen(url, timeout=60) as response, open(tmp, 'wb') as f:  # noqa: S310 (https only)
        while True:
            block = response.read(1 << 20)
            if not block:
                break
            f.write(block)
    os.replace(tmp, dst)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Address, expected path and sha256 check of a zoo checkpoint')
    parser.add_argument('name', nargs='?', help='zoo name (beitmm.list_models()) or official file name')
    parser.add_argument('--out', default='pretrain', help='folder the configs read checkpoints from (pretrain/)')
    parser.add_argument('--verify', metavar='FILE', help='hash this file and compare it with the published sha256')
    parser.add_argument('--download', action='store_true', help='download to the expected path (network needed)')
    parser.add_argument('--list', nargs='?', const='*', metavar='PATTERN', help='list the zoo names (fnmatch)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Run the tool; returns the exit status."""
    args = parse_args(argv)
    if args.list is not None:
        print('\n'.join(list_models(args.list)))
        return 0
    if not args.name:
        print('give a NAME (or --list)', file=sys.stderr)
        return 2
    try:
        entry = model_entry(args.name)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    path = expected_path(entry, args.out)
    print(f'name:      {entry.name} ({entry.collection})\nconfig:    {entry.config}\nurl:       {entry.url}\n'
          f'file:      {entry.file}\nexpected:  {path}')
    print(f'sha256:    {entry.sha256 or "none published"}')
    if entry.tokenizer:
        print(f'tokenizer: {entry.tokenizer["Path"]} from {entry.tokenizer["URL"]}')
    if entry.notes:
        print(f'notes:     {entry.notes}')
    if args.download and not args.verify:
        print(f'downloading {entry.url} -> {path}')
        try:
            download(entry.url, path)
        except OSError as e:  # urllib's URLError / HTTPError are OSErrors
            print(f'download failed: {e}; fetch {entry.url} by hand and run --verify FILE', file=sys.stderr)
            return 3
    target = args.verify or (path if osp.isfile(path) else None)
    if target is None:
        print(f'not downloaded yet: fetch the url to {path} (or pass --download), then run with --verify {path}')
        return 0
    if not osp.isfile(target):
        print(f'{target}: no such file', file=sys.stderr)
        return 4
    return verify(entry, target)


if __name__ == '__main__':
    sys.exit(main())
