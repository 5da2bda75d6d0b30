"""Every test runs in a real headless Scipion, configured here before
pyworkflow is first imported, with its home and user data in a temporary
folder removed at the end (MAXSHIFT_KEEP_TEST_PROJECTS=1 keeps it)."""
import os
import shutil
import tempfile

import scipion_headless

SCIPION_ROOT = tempfile.mkdtemp(prefix='maxshift-tests-')
scipion_headless.configure(SCIPION_ROOT)
os.environ.setdefault('HYPOTHESIS_STORAGE_DIRECTORY',
                      os.path.join(SCIPION_ROOT, 'hypothesis'))


def pytest_sessionfinish(session):
    if os.environ.get('MAXSHIFT_KEEP_TEST_PROJECTS'):
        print('\nTest projects kept in %s' % SCIPION_ROOT)
    else:
        shutil.rmtree(SCIPION_ROOT, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked `standalone` or `xmipp` run only with that plugin: the
    standalone one (./dev test) or scipion-em-xmipp with maxshift merged in
    (./dev test-xmipp)."""
    import pytest
    import xmipp3
    insideXmipp = '+maxshift.' in xmipp3.__version__
    skips = {'standalone': 'the standalone plugin only (./dev test)',
             'xmipp': 'needs scipion-em-xmipp with maxshift merged in (./dev test-xmipp)'}
    wrongMode = 'standalone' if insideXmipp else 'xmipp'
    for item in items:
        if wrongMode in item.keywords:
            item.add_marker(pytest.mark.skip(reason=skips[wrongMode]))
