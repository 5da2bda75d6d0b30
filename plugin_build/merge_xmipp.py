"""Build scipion-em-xmipp with movie maxshift merged in, and the same change as a patch.

    python plugin_build/merge_xmipp.py OUTDIR [XMIPP_SOURCE]

XMIPP_SOURCE is a scipion-em-xmipp checkout or unpacked sdist; without it the
pinned 29.0.1 sdist is downloaded from PyPI (and its sha256 checked). OUTDIR
becomes a source tree for `pip install OUTDIR` or `scipion3 installp -p
OUTDIR --devel`; OUTDIR/maxshift.patch applies with `git apply` on upstream.

The project's files are copied in: all are new to Xmipp except the protocol,
which replaces Xmipp's. Xmipp's plugin-level files get the small insertions
listed in EDITS. Every Xmipp file that is edited or replaced must be exactly
the one these edits were written for (its sha256 below): otherwise the build
stops and names it. The same inputs always give the same tree and patch.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import namedtuple

from assemble import PROJECT, REPLACED_XMIPP_FILES, STANDALONE_SHELL, project_files

XMIPP_VERSION = '29.0.1'
XMIPP_SDIST = 'scipion_em_xmipp-%s.tar.gz' % XMIPP_VERSION
XMIPP_SDIST_SHA256 = '35e2aee75e0818ee2b164b8ceeeb7a5ff52fda075c8329a3da94af602c68c9c7'
# sha256 of each scipion-em-xmipp 29.0.1 file that the merge edits or replaces
KNOWN_XMIPP_FILES = {
    'pyproject.toml': '5c26977bc1e2e7e122c4502a99098a57fa889c58e6a59dbd2838c28d21b66b10',
    'xmipp3/version.py': '889de840eba637c355b751eca1a7e9bf2cb0dee1ab8306f96b6ba25b9147d788',
    'xmipp3/bibtex.py': '6198eeb81ffd442e1038ecb9afce9c457df37b6116cf8de21b320342fb6ee474',
    'xmipp3/protocols.conf': '1cae52f06f393d01f31cb69c314d757818439a87612ab7d09b65a860160dee09',
    'xmipp3/protocols/__init__.py':
        '0531d468e5036e2fd81355d8b5fe05a0ac78bc11883571d94514fa57d00e8ec8',
    'xmipp3/viewers/__init__.py':
        '3721d5196f064c3676a35ad75b8d5baa3e17344a3a29c051a0c364b471401de7',
    'xmipp3/protocols/protocol_movie_max_shift.py':
        '2bce489f74993e9e83f763533142dd9a4a1ed978dda80c4727bf9f11e910b655',
}
PATCH_NAME = 'maxshift.patch'
MARKER = '.maxshift-merged-build'  # marks an OUTDIR this script may overwrite
SKIPPED = ('.git', '__pycache__', 'build', 'dist', 'PKG-INFO', MARKER, PATCH_NAME)

# A line inserted after the first line equal to `anchor` (at the end of the
# file when anchor is None), or put in place of it when `replace` is set
# (the line removed when text is None).
Edit = namedtuple('Edit', 'path anchor text replace')
# Protocols listed twice in one folder of 29.0.1's protocols.conf: when
# Scipion's project window reads that file first, it stops filling its
# protocol tree at the second one ("Item .Protocols SPA.2D.Classify.
# XmippProtCL2D already exists"). The merged build lists each once.
DUPLICATE_CL2D = '\t\t\t{"tag": "protocol", "value": "XmippProtCL2D",   "text": "default"},'
RESOLUTION_LAST = ('                {"tag": "protocol", "value": "XmippProtbfactorResolution", '
                   '"text": "default"}')
DUPLICATES_RESOLUTION = (
    '                {"tag": "protocol", "value": "XmippProtMonoDir", "text": "default"},',
    '                {"tag": "protocol", "value": "XmippProtMonoRes", "text": "default"}')


def _maxshift_version():
    version = {}
    with open(os.path.join(PROJECT, 'xmipp3', 'maxshift', 'version.py')) as versionFile:
        exec(versionFile.read(), version)
    return version['__version__']


def _citation():
    """The protocol's bibtex entry, declared once in the standalone shell."""
    with open(os.path.join(STANDALONE_SHELL, 'xmipp3', 'bibtex.py'), encoding='utf-8') as bib:
        return bib.read().strip().strip('"').strip()


def edits():
    return (
        Edit('pyproject.toml', 'xmipp3 = ["protocols.conf", "xmipp_logo_devel.png"]',
             'xmipp3 = ["protocols.conf", "xmipp_logo_devel.png", '
             '"maxshift/data/*", "templates/*.json.template"]', True),
        Edit('xmipp3/version.py', "__version__ = '%s'" % XMIPP_VERSION,
             "__version__ = '%s+maxshift.%s'" % (XMIPP_VERSION, _maxshift_version()),
             True),
        Edit('xmipp3/bibtex.py', '"""', _citation() + '\n', False),
        Edit('xmipp3/protocols.conf', '\t]}]',  # the end of "Protocols SPA"
             '    ]},\n'
             '    {"tag": "section", "text": "Simulators (tests and demos)", '
             '"openItem": "False", "children": [\n'
             '        {"tag": "protocol", "value": "XmippProtSimulateAlignedMovies", '
             '"text": "default"}\n'
             '    ]}]', True),
        Edit('xmipp3/protocols.conf', DUPLICATE_CL2D, None, True),
        Edit('xmipp3/protocols.conf', RESOLUTION_LAST + ',', RESOLUTION_LAST, True),
        Edit('xmipp3/protocols.conf', DUPLICATES_RESOLUTION[0], None, True),
        Edit('xmipp3/protocols.conf', DUPLICATES_RESOLUTION[1], None, True),
        Edit('xmipp3/protocols/__init__.py',
             'from .protocol_movie_max_shift import XmippProtMovieMaxShift',
             'from .protocol_simulate_aligned_movies import XmippProtSimulateAlignedMovies'
             '  # movie maxshift: simulator for tests and demos', False),
        Edit('xmipp3/viewers/__init__.py', None,
             '# movie maxshift: its viewer replaces the one in viewer_movie_alignment\n'
             'from .viewer_movie_max_shift import XmippMovieMaxShiftViewer', False),
    )


class MergeError(Exception):
    pass


def sha256(path):
    with open(path, 'rb') as data:
        return hashlib.sha256(data.read()).hexdigest()


def download_sdist(cache):
    """The pinned scipion-em-xmipp sdist, unpacked; returns its folder."""
    archive = os.path.join(cache, XMIPP_SDIST)
    if not os.path.exists(archive):
        os.makedirs(cache, exist_ok=True)
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps',
                        '--no-binary', ':all:', '-d', cache,
                        'scipion-em-xmipp==%s' % XMIPP_VERSION], check=True)
    if sha256(archive) != XMIPP_SDIST_SHA256:
        raise MergeError('%s is not the scipion-em-xmipp %s sdist this merge knows '
                         '(sha256 differs)' % (archive, XMIPP_VERSION))
    unpacked = os.path.join(cache, XMIPP_SDIST[:-len('.tar.gz')])
    if not os.path.isdir(unpacked):
        with tarfile.open(archive) as sdist:
            sdist.extractall(cache)
    return unpacked


def _ignore(folder, names):
    return [n for n in names if n in SKIPPED or n.endswith('.egg-info')]


def check_known(source):
    for path, expected in sorted(KNOWN_XMIPP_FILES.items()):
        full = os.path.join(source, path)
        if not os.path.exists(full):
            raise MergeError('%s is missing from %s: the merge knows scipion-em-xmipp %s'
                             % (path, source, XMIPP_VERSION))
        if sha256(full) != expected:
            raise MergeError('%s differs from scipion-em-xmipp %s\'s: the merge does not '
                             'know this version of it; check its edits by hand'
                             % (path, XMIPP_VERSION))


def apply_edit(tree, edit):
    path = os.path.join(tree, edit.path)
    with open(path, encoding='utf-8') as source:
        lines = source.read().split('\n')
    if edit.anchor is None:
        while lines and lines[-1] == '':
            lines.pop()
        lines += [edit.text, '']
    else:
        at = [line.rstrip() for line in lines].index(edit.anchor)
        lines[at:at + 1] = ([] if edit.text is None else [edit.text]) if edit.replace \
            else [lines[at], edit.text]
    with open(path, 'w', encoding='utf-8') as target:
        target.write('\n'.join(lines))


def merge(source, out):
    """Write the merged tree in out and its patch; return the patch path."""
    check_known(source)
    prepare_outdir(out)
    shutil.copytree(source, out, ignore=_ignore, dirs_exist_ok=True)
    for relative in project_files():
        upstream = os.path.join(source, relative)
        if os.path.exists(upstream) and relative not in REPLACED_XMIPP_FILES:
            raise MergeError('%s exists in scipion-em-xmipp: the project may only add '
                             'files or replace %s' % (relative, ', '.join(REPLACED_XMIPP_FILES)))
        os.makedirs(os.path.dirname(os.path.join(out, relative)), exist_ok=True)
        shutil.copyfile(os.path.join(PROJECT, relative), os.path.join(out, relative))
    for edit in edits():
        apply_edit(out, edit)
    open(os.path.join(out, MARKER), 'w').close()
    patch = os.path.join(out, PATCH_NAME)
    with open(patch, 'w', encoding='utf-8') as patchFile:
        patchFile.write(make_patch(source, out))
    return patch


def prepare_outdir(out):
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.exists(os.path.join(out, MARKER)):
            raise MergeError('%s is not empty and is not a merged build: choose a '
                             'new folder' % out)
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)


def _git(cwd, *args):
    return subprocess.run(('git', '-c', 'user.name=maxshift', '-c', 'user.email=maxshift@localhost',
                           '-c', 'core.autocrlf=false') + args, cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def make_patch(source, merged):
    """The change from source to merged, as `git diff` prints it, checked to
    apply on a fresh copy of source."""
    with tempfile.TemporaryDirectory() as work:
        repo = os.path.join(work, 'repo')
        shutil.copytree(source, repo, ignore=_ignore)
        _git(repo, 'init', '--quiet')
        _git(repo, 'add', '-A')
        _git(repo, 'commit', '--quiet', '-m', 'upstream')
        shutil.copytree(merged, repo, ignore=_ignore, dirs_exist_ok=True)
        _git(repo, 'add', '-A')
        patch = _git(repo, 'diff', '--cached', '--binary')
        _git(repo, 'reset', '--quiet', '--hard')
        check = subprocess.run(('git', 'apply', '--check', '-'), cwd=repo, input=patch,
                               text=True, capture_output=True)
        if check.returncode:
            raise MergeError('the patch does not apply on upstream: %s' % check.stderr)
    return patch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('outdir')
    parser.add_argument('xmipp_source', nargs='?',
                        help='scipion-em-xmipp checkout or unpacked sdist '
                             '(default: the %s sdist from PyPI)' % XMIPP_VERSION)
    args = parser.parse_args(argv)
    try:
        source = args.xmipp_source or download_sdist(
            os.path.join(PROJECT, '.cache', 'xmipp-sources'))
        patch = merge(os.path.abspath(source), os.path.abspath(args.outdir))
    except MergeError as error:
        sys.exit('merge stopped: %s' % error)
    version = re.search(r"__version__ = '([^']+)'",
                        open(os.path.join(args.outdir, 'xmipp3', 'version.py')).read())
    print('Merged scipion-em-xmipp %s in %s\n  install: pip install %s\n  patch:   %s'
          % (version.group(1), args.outdir, args.outdir, patch))


if __name__ == '__main__':
    main()
