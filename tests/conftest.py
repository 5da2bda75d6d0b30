"""A real headless Scipion project for the protocol tests.

Scipion is configured here, before pyworkflow is first imported, with its
home and user data in a temporary folder that is removed at the end
(set MAXSHIFT_KEEP_TEST_PROJECTS=1 to keep it for inspection).
"""
import os
import shutil
import tempfile

import scipion_headless

_ROOT = tempfile.mkdtemp(prefix='maxshift-tests-')
scipion_headless.configure(_ROOT)
os.environ.setdefault('HYPOTHESIS_STORAGE_DIRECTORY',
                      os.path.join(_ROOT, 'hypothesis'))

import pytest  # noqa: E402


@pytest.fixture(scope='session')
def project():
    cwd = os.getcwd()
    yield scipion_headless.open_project('maxshift-tests',
                                        os.path.join(_ROOT, 'projects'))
    os.chdir(cwd)
    if not os.environ.get('MAXSHIFT_KEEP_TEST_PROJECTS'):
        shutil.rmtree(_ROOT, ignore_errors=True)
    else:
        print('Test projects kept in %s' % _ROOT)


@pytest.fixture
def tmp_json(tmp_path):
    """Write trajectories (list of dicts) to a JSON file; return its path."""
    import json

    def write(trajectories, name='trajectories.json'):
        path = tmp_path / name
        path.write_text(json.dumps(trajectories))
        return str(path)
    return write
