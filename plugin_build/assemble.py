"""Which files make the movie maxshift plugin, and the standalone install tree.

The project's `xmipp3/` holds only files that scipion-em-xmipp does not have
(the `xmipp3.maxshift` core, the simulator, the new viewer, templates, tests)
plus the one file it replaces, `protocols/protocol_movie_max_shift.py`. The
plugin-level files (`xmipp3/__init__.py`, `protocols/__init__.py`, ...) are
Xmipp's: a merged build edits them (see merge_xmipp.py), a standalone install
takes minimal stand-alone versions from `plugin_build/standalone/`.
"""
import os

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = 'xmipp3'
STANDALONE_SHELL = os.path.join(PROJECT, 'plugin_build', 'standalone')
# The only scipion-em-xmipp file that the project's tree replaces whole
REPLACED_XMIPP_FILES = ('xmipp3/protocols/protocol_movie_max_shift.py',)


def _files_under(root):
    """Relative paths of the files under root/xmipp3 (no caches)."""
    found = []
    for folder, subfolders, files in os.walk(os.path.join(root, PACKAGE)):
        subfolders[:] = sorted(d for d in subfolders if d != '__pycache__')
        found += [os.path.relpath(os.path.join(folder, name), root)
                  for name in sorted(files) if not name.endswith('.pyc')]
    return found


def project_files():
    """The project's plugin files, relative to the project root."""
    return _files_under(PROJECT)


def standalone_shell_files():
    return _files_under(STANDALONE_SHELL)


def assemble_standalone(out):
    """Make `out` a standalone `xmipp3` package tree of relative symlinks to
    the project's files and the stand-alone shell, so that an editable
    install sees every edit. Returns `out`."""
    shell = set(standalone_shell_files())
    clash = shell & set(project_files())
    if clash:
        raise RuntimeError('Both the project and the standalone shell have %s'
                           % ', '.join(sorted(clash)))
    wanted = {}
    for relative in shell:
        wanted[relative] = os.path.join(STANDALONE_SHELL, relative)
    for relative in project_files():
        wanted[relative] = os.path.join(PROJECT, relative)
    if os.path.isdir(os.path.join(out, PACKAGE)):  # drop links to removed files
        for relative in _files_under(out):
            if relative not in wanted:
                os.remove(os.path.join(out, relative))
    for relative, source in wanted.items():
        link = os.path.join(out, relative)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        target = os.path.relpath(source, os.path.dirname(link))
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(target, link)
    return out


if __name__ == '__main__':
    import sys
    assemble_standalone(sys.argv[1] if len(sys.argv) > 1
                        else os.path.join(PROJECT, 'build', 'standalone'))
