"""The merged scipion-em-xmipp build (plugin_build/merge_xmipp.py, behind
`./dev xmipp`): the same tree and patch every time, a patch that applies on
upstream, and a stop that names an Xmipp file it does not know."""
import filecmp
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'plugin_build'))
import merge_xmipp  # noqa: E402
from assemble import PROJECT, REPLACED_XMIPP_FILES, project_files  # noqa: E402


@pytest.fixture(scope='module')
def upstream():
    """The pinned scipion-em-xmipp 29.0.1 sources (downloaded once)."""
    return merge_xmipp.download_sdist(os.path.join(PROJECT, '.cache', 'xmipp-sources'))


def same_tree(first, second):
    comparison = filecmp.dircmp(first, second)
    pending = [comparison]
    while pending:
        current = pending.pop()
        if current.left_only or current.right_only or current.diff_files:
            return False
        pending.extend(current.subdirs.values())
    return True


def test_merging_twice_gives_the_same_tree_and_a_patch_that_applies_on_upstream(
        upstream, tmp_path):
    first, second = tmp_path / 'first', tmp_path / 'second'
    patch = merge_xmipp.merge(upstream, str(first))
    assert merge_xmipp.merge(upstream, str(second)) == str(second / merge_xmipp.PATCH_NAME)
    merge_xmipp.merge(upstream, str(first))  # again over its own output
    assert same_tree(first, second)
    for relative in project_files():
        with open(os.path.join(PROJECT, relative), 'rb') as ours, \
                open(first / relative, 'rb') as merged:
            assert ours.read() == merged.read(), relative
    with open(first / 'xmipp3' / 'version.py') as version:
        assert "__version__ = '29.0.1+maxshift." in version.read()
    checkout = tmp_path / 'checkout'
    shutil.copytree(upstream, checkout)
    subprocess.run(['git', 'apply', patch], cwd=checkout, check=True)
    with open(checkout / REPLACED_XMIPP_FILES[0], 'rb') as patched, \
            open(os.path.join(PROJECT, REPLACED_XMIPP_FILES[0]), 'rb') as ours:
        assert patched.read() == ours.read()
    with open(checkout / 'xmipp3' / 'protocols' / '__init__.py') as protocols:
        assert 'XmippProtSimulateAlignedMovies' in protocols.read()


def test_an_xmipp_file_it_does_not_know_stops_the_merge_and_is_named(upstream, tmp_path):
    changed = tmp_path / 'changed-upstream'
    shutil.copytree(upstream, changed)
    with open(changed / 'xmipp3' / 'viewers' / '__init__.py', 'a') as viewers:
        viewers.write('# a later release\n')
    with pytest.raises(merge_xmipp.MergeError, match=r'xmipp3/viewers/__init__\.py differs'):
        merge_xmipp.merge(str(changed), str(tmp_path / 'out'))


def test_a_folder_that_is_not_a_merged_build_is_never_overwritten(upstream, tmp_path):
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(merge_xmipp.MergeError, match='not empty'):
        merge_xmipp.merge(upstream, str(tmp_path))
    assert (tmp_path / 'notes.txt').read_text() == 'mine'
