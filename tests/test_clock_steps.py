"""A producer whose clock steps back mid-stream (NTP correction, a virtual
machine resumed): a real headless run where the simulator runs under
libfaketime (Debian package faketime, installed by .ci/run) and its clock
goes back 30 s while it streams. Every movie must be classified once."""
import glob
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime

import pytest

from maxshift_checks import MOVIE_OUTPUTS, assert_split_consistent, ids
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation,
                                   wait_for_output, wait_until_done)
from xmipp3.maxshift.streaming import CREATION_FORMAT
from xmipp3.maxshift.names import OUTPUT_MOVIES

LIBFAKETIME_GLOBS = ('/usr/lib/*/faketime/libfaketime.so.1',
                     '/usr/lib/faketime/libfaketime.so.1',
                     '/usr/local/lib/faketime/libfaketime.so.1')
STEP_BACK_SECONDS = 30
MOVIES = 240  # 10 every 0.5 s


def _fakeTimeEnviron(offsetFile):
    """Environment variables that run a process under libfaketime with the
    offset in offsetFile (re-read every second), or None if not installed."""
    libraries = [path for pattern in LIBFAKETIME_GLOBS for path in glob.glob(pattern)]
    if not libraries:
        return None
    preload = ' '.join(filter(None, [libraries[0], os.environ.get('LD_PRELOAD')]))
    return {'LD_PRELOAD': preload, 'FAKETIME_TIMESTAMP_FILE': offsetFile,
            'FAKETIME_CACHE_DURATION': '1'}


def _sqliteClockOffset(environ):
    """How far SQLite's 'now' is from the real clock in a process started
    with environ (seconds), or the error that process gave."""
    probe = ("import sqlite3; print(sqlite3.connect(':memory:').execute("
             "\"SELECT strftime('%s', 'now')\").fetchone()[0])")
    result = subprocess.run([sys.executable, '-c', probe], capture_output=True,
                            text=True, timeout=30, env=dict(os.environ, **environ))
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        return 'exit %d: %s' % (result.returncode, result.stderr.strip()[-300:])
    return int(result.stdout) - time.time()


@pytest.fixture
def fake_clock(tmp_path):
    """(environment, setOffset): the environment puts a process under
    libfaketime; setOffset(seconds) moves its clock. Skips when libfaketime
    is missing or does not change SQLite's clock."""
    offsetFile = str(tmp_path / 'faketime.rc')

    def setOffset(seconds):
        with open(offsetFile + '.partial', 'w', encoding='utf-8') as rc:
            rc.write('%+d\n' % seconds)
        os.replace(offsetFile + '.partial', offsetFile)

    environ = _fakeTimeEnviron(offsetFile)
    if environ is None:
        pytest.skip('libfaketime is not installed (Debian package faketime; '
                    '.ci/run installs it): the clock-step run needs it')
    setOffset(-3600)
    offset = _sqliteClockOffset(environ)
    if isinstance(offset, str) or abs(offset + 3600) > 60:
        pytest.skip('libfaketime (%s) could not be loaded or does not move '
                    'SQLite\'s clock: %s' % (environ['LD_PRELOAD'], offset))
    setOffset(0)
    return environ, setOffset


@contextmanager
def _environment(variables):
    """os.environ with these variables while inside (for a launch: the
    protocol's process inherits them), restored after."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def _rows(path):
    """(id, creation) of a set file's rows, in id order."""
    if not os.path.exists(path):
        return []
    connection = sqlite3.connect('file:%s?mode=ro' % path, uri=True, timeout=30)
    try:
        return connection.execute('SELECT id, creation FROM Objects ORDER BY id').fetchall()
    except sqlite3.OperationalError as error:
        if 'no such table' in str(error):
            return []
        raise
    finally:
        connection.close()


def _largestStepBack(rows):
    """Largest fall of the creation stamp from a row to the next, seconds."""
    stamps = [datetime.strptime(creation, CREATION_FORMAT) for _, creation in rows]
    return max([(a - b).total_seconds() for a, b in zip(stamps, stamps[1:])] + [0])


def test_producer_clock_stepping_back_loses_no_movie(project, fake_clock):
    environ, setOffset = fake_clock
    sim = new_simulation(project, source=1, numberOfMovies=MOVIES, batchSize=10,
                         batchInterval=0.5, seed=15)
    with _environment(environ):  # only the simulator runs under libfaketime
        launch(project, sim)
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=1.0))
    wait_for_output(project, maxshift, OUTPUT_MOVIES)  # it has read rows
    moviesFile = os.path.join(project.path, sim.outputMovies.getFileName())
    deadline = time.time() + 60
    while len(_rows(moviesFile)) < MOVIES // 4:
        assert time.time() < deadline, 'the simulator stalled'
        time.sleep(0.1)
    setOffset(-STEP_BACK_SECONDS)  # a quarter into the stream
    wait_until_done(project, sim, timeout=120)
    wait_until_done(project, maxshift, timeout=120)

    # The simulator really saw its clock go back: its rows say so.
    rows = _rows(moviesFile)
    assert len(rows) == MOVIES
    stepBack = _largestStepBack(rows)
    assert stepBack >= STEP_BACK_SECONDS - 5, \
        'the simulator\'s stamps never went back (%g s): libfaketime had no ' \
        'effect, the test proves nothing' % stepBack

    classified = [movieId for name in MOVIE_OUTPUTS for movieId in ids(maxshift, name)]
    assert len(set(classified)) == MOVIES, '%d of %d movies classified' % (
        len(set(classified)), MOVIES)
    assert len(classified) == MOVIES, 'a movie classified twice'
    assert_split_consistent(sim, maxshift)
    assert "the producer's clock went back ~" in ''.join(maxshift.getLogsAsStrings())
