"""examples/batch_maxshift.py run as facility staff would run it: its own
process and Scipion folder; what it prints is what its project holds."""
import os
import subprocess
import sys

import pyworkflow as pw
import pytest
from pyworkflow.project import Project

from xmipp3.maxshift import table
from xmipp3.maxshift.batch import output_ids
from xmipp3.maxshift.names import (
    OUTPUT_MICS, OUTPUT_MICS_DISCARDED, OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED,
    OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

SCRIPT = os.path.join(os.path.dirname(__file__), '..', 'examples',
                      'batch_maxshift.py')
COUNTED_OUTPUTS = {'accepted_movies': OUTPUT_MOVIES,
                   'discarded_movies': OUTPUT_MOVIES_DISCARDED,
                   'accepted_micrographs': OUTPUT_MICS,
                   'discarded_micrographs': OUTPUT_MICS_DISCARDED,
                   'accepted_micrographs_dw': OUTPUT_MICS_DW,
                   'discarded_micrographs_dw': OUTPUT_MICS_DW_DISCARDED}


def run_script(*args):
    # Scipion is configured by the script itself, not inherited from the tests
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('SCIPION_')}
    return subprocess.run([sys.executable, os.path.abspath(SCRIPT)] + list(args),
                          capture_output=True, text=True, timeout=300, env=env,
                          cwd=os.path.dirname(os.path.abspath(SCRIPT)))


def parsed(stdout):
    values = {}
    for line in stdout.splitlines():
        if line and not line.startswith('#'):
            key, _, value = line.partition('=')
            values[key] = value
    return values


@pytest.fixture
def project_opener():
    """Open a project of another Scipion folder, then come back."""
    cwd = os.getcwd()
    yield _loaded
    os.chdir(cwd)  # the session's project relies on it


def _loaded(path):
    project = Project(pw.Config.getDomain(), path)
    project.load()  # cwd becomes its folder: set paths are relative to it
    return project


def test_counts_printed_are_what_the_project_holds(tmp_path, project_opener):
    movies = 30
    result = run_script(str(tmp_path / 'facility'), '--project', 'session-1',
                        '--movies', str(movies), '--batch-size', '8',
                        '--batch-interval', '0.5', '--poll-interval', '0.5',
                        '--rule', 'or', '--max-frame-shift', '8',
                        '--max-movie-shift', '40', '--seed', '3')
    assert result.returncode == 0, result.stderr
    printed = parsed(result.stdout)
    counts = {key: int(printed[key]) for key in list(COUNTED_OUTPUTS) + ['simulated_movies']}
    assert counts['simulated_movies'] == movies
    assert counts['accepted_movies'] + counts['discarded_movies'] == movies
    assert counts['discarded_movies'] > 0
    assert printed['project_path'].startswith(str(tmp_path / 'facility'))

    project = project_opener(printed['project_path'])
    maxshift = project.getProtocol(int(printed['maxshift_run']))
    assert (maxshift.rejType.get(), maxshift.maxFrameShift.get(),
            maxshift.maxMovieShift.get()) == (3, 8.0, 40.0)
    held = output_ids(maxshift, *COUNTED_OUTPUTS.values())
    for key, name in COUNTED_OUTPUTS.items():
        assert counts[key] == len(held[name]), key
    rows = table.read_table(printed['motion_table'])
    decisions = [row['decision'] for row in rows]
    assert decisions.count(table.ACCEPTED) == counts['accepted_movies']
    assert decisions.count(table.DISCARDED) == counts['discarded_movies']


def test_bad_options_are_refused_with_usage(tmp_path):
    result = run_script(str(tmp_path / 'facility'), '--rule', 'sometimes')
    assert result.returncode == 2
    assert 'invalid choice' in result.stderr
    assert not (tmp_path / 'facility').exists()
