"""Fixtures of the pytest tests: one real headless Scipion project (Scipion
itself is configured by the conftest.py at the project root)."""
import json
import os

import pytest

import scipion_headless


@pytest.fixture(scope='session')
def project():
    cwd = os.getcwd()
    yield scipion_headless.open_project(
        'maxshift-tests', os.path.join(os.environ['SCIPION_USER_DATA'], 'projects'))
    os.chdir(cwd)


@pytest.fixture
def tmp_json(tmp_path):
    """Write trajectories (list of dicts) to a JSON file; return its path."""
    def write(trajectories, name='trajectories.json'):
        path = tmp_path / name
        path.write_text(json.dumps(trajectories))
        return str(path)
    return write


def pytest_terminal_summary(terminalreporter, config):
    """Where the GUI test put its screenshots (tests/test_gui.py)."""
    folder = getattr(config, 'maxshiftGuiScreenshots', None)
    if folder:
        terminalreporter.write_line('GUI screenshots: %s' % folder)
