"""A full disk. The real one is a small tmpfs that the test mounts and fills
with a file written until ENOSPC (skipped, with the reason, where mounting
is not permitted: it needs root or CAP_SYS_ADMIN); the injected one makes
the protocol's own writes raise ENOSPC at chosen points, so that retrying,
giving up with a message and resuming on Continue are each seen."""
import contextlib
import errno
import json
import os
import subprocess
import tempfile
import time

import psutil
import pytest

import scipion_headless
from pwem.objects import Movie, SetOfMovies
from pyworkflow.object import Set

from maxshift_checks import (WAITING, assert_each_once, assert_outputs, log_of,
                             report, wait_for)
from xmipp3.maxshift import auto_threshold, table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, refresh,
                                   wait_for_output, wait_until_done)
from xmipp3.maxshift.streaming import OutputLost, OutputSets, countRows
from xmipp3.maxshift.names import AUTO_STATE_FILE
from xmipp3.protocols.protocol_movie_max_shift import (
    DISK_FULL_AT_VARIABLE, DISK_FULL_GIVE_UP_VARIABLE)


@contextlib.contextmanager
def small_disk(megabytes):
    """A tmpfs of that size mounted on a new folder, unmounted at the end."""
    folder = tempfile.mkdtemp(prefix='maxshift-full-disk-')
    try:
        mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dm' % megabytes,
                                  'tmpfs', folder], capture_output=True, text=True)
        refusal = mounted.stderr.strip() or 'mount exit %d' % mounted.returncode
    except OSError as error:  # no mount command
        mounted, refusal = None, str(error)
    if mounted is None or mounted.returncode != 0:
        os.rmdir(folder)
        pytest.skip('a real full disk needs a small tmpfs, and mounting one is '
                    'not permitted here (needs root or CAP_SYS_ADMIN): %s' % refusal)
    try:
        yield folder
    finally:
        if subprocess.run(['umount', folder], capture_output=True).returncode != 0:
            subprocess.run(['umount', '-l', folder], capture_output=True)
        os.rmdir(folder)


def fill(folder):
    """Write a file until the filesystem has no byte left; return its path."""
    path = os.path.join(folder, 'filler')
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b'\0' * (1 << 20)
    try:
        while True:
            try:
                os.write(descriptor, block)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return path
                block = block[:max(1, len(block) // 16)]
    finally:
        os.close(descriptor)


class _Writer:
    """The part of a protocol that OutputSets uses, updating an output as
    pyworkflow's _updateOutputSet does: the write is retried on an error
    (here after freeing the disk)."""
    mapper = None

    def __init__(self, folder, onError):
        self.folder, self.onError, self.outputs = folder, onError, {}

    def _getPath(self, *paths):
        return os.path.join(self.folder, *paths)

    def hasAttribute(self, name):
        return name in self.outputs

    def _updateOutputSet(self, name, outputSet, state=Set.STREAM_OPEN):
        try:
            outputSet.setStreamState(state)
            outputSet.write()
        except Exception:
            self.onError()
            outputSet.write()  # the retry "succeeds"
        self.outputs[name] = outputSet
        outputSet.close()


def test_a_write_rolled_back_by_a_full_disk_is_never_taken_as_done():
    with small_disk(4) as disk:
        filler = []
        writer = _Writer(disk, onError=lambda: os.remove(filler.pop()))
        outputs = OutputSets(writer, {'outputMovies': 'movies.sqlite'},
                             {'outputMovies': SetOfMovies})
        template = SetOfMovies()
        template.setSamplingRate(1.0)

        def append(first, count):
            for movieId in range(first, first + count):
                movie = Movie(location='movie_%d.mrcs' % movieId)
                movie.setObjId(movieId)
                outputs.append('outputMovies', movie, template)
        append(1, 5)
        outputs.commit()
        append(6, 5)  # queued in an open transaction ...
        filler.append(fill(disk))  # ... that the full disk rolls back at commit
        with pytest.raises(OutputLost, match='should hold 10 items but its file has 5'):
            outputs.commit()
        assert countRows(os.path.join(disk, 'movies.sqlite')) == 5


def test_writes_failing_for_space_are_retried_then_given_up_and_continue_resumes(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=120, batchSize=20, batchInterval=0.5,
        outlierFraction=0.2, seed=33))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = new_maxshift(project, sim, pollInterval=1.0, useAutoThresholds=True,
                            autoWarmup=20)
    # From the 3rd output committed on, every write fails: a disk that stays full
    os.environ.update({DISK_FULL_AT_VARIABLE: 'writing:3',
                       DISK_FULL_GIVE_UP_VARIABLE: '4'})
    try:
        launch(project, maxshift)
    finally:
        del os.environ[DISK_FULL_AT_VARIABLE], os.environ[DISK_FULL_GIVE_UP_VARIABLE]
    wait_for(lambda: not refresh(project, maxshift).isActive(), 'maxshift ended')
    assert maxshift.isFailed()
    message = maxshift.getErrorMessage()
    assert 'No space left to write the outputs' in message
    assert 'free some space, then Continue this protocol' in message
    assert 'Traceback' not in message
    log = log_of(maxshift)
    assert 'Trying again in 1 s (retry 1' in log and 'Trying again in 2 s (retry 2' in log
    # Continued, on a disk that is full twice more for a moment, at the point
    # after the outputs are committed and before the table, the automatic
    # thresholds and the counts are written
    os.environ[DISK_FULL_AT_VARIABLE] = 'table:1:2'
    try:
        launch(project, maxshift)
    finally:
        del os.environ[DISK_FULL_AT_VARIABLE]
    wait_until_done(project, sim)
    wait_until_done(project, maxshift, timeout=180)
    assert_each_once(sim, maxshift, 120)  # the CSV equal to the outputs too
    assert_outputs(maxshift, 'closed')
    log = log_of(maxshift)
    assert log.count('Trying again in') >= 4
    assert 'Disk space is back' in log
    with open(maxshift._getExtraPath(AUTO_STATE_FILE), encoding='utf-8') as stateFile:
        state = auto_threshold.AutoThresholds.from_dict(json.load(stateFile))
    assert not state.warming_up and state.n_added == 120  # each movie once
    assert 'automatic-threshold state had seen' in log  # rebuilt from the outputs
    with open(maxshift.getSummaryPlotPath(), 'rb') as png:
        assert png.read(8) == b'\x89PNG\r\n\x1a\n'
    assert len(table.read_table(maxshift.getMotionTablePath())) == 120


def _end_of(project, protocols):
    """Kill the test's own protocol processes that are still alive."""
    for protocol in protocols:
        pid = refresh(project, protocol).getPid()
        if pid and protocol.isActive() and psutil.pid_exists(pid):
            psutil.Process(pid).kill()


def test_a_full_disk_mid_session_and_only_the_producer_continued():
    """The issue's session: 600 movies, 20 every 0.5 s, maxshift polling every
    1 s; after 8 s the disk is full for 6 s; then the operator continues the
    protocol that failed, the simulator, and only it."""
    cwd = os.getcwd()
    with small_disk(64) as disk:
        session = scipion_headless.open_project('full-disk', disk)
        launched = []
        try:
            started = time.time()
            sim = launch(session, new_simulation(
                session, source=1, numberOfMovies=600, batchSize=20,
                batchInterval=0.5, seed=34))
            launched.append(sim)
            wait_for_output(session, sim, 'outputMovies')
            maxshift = launch(session, new_maxshift(session, sim, pollInterval=1.0))
            launched.append(maxshift)
            simPid, maxshiftPid = sim.getPid(), maxshift.getPid()
            time.sleep(max(0.0, started + 8.0 - time.time()))
            filler = fill(disk)
            fullAt = time.time()
            time.sleep(6.0)  # nothing of the project is read or written meanwhile
            os.remove(filler)
            freedAt = time.time()
            wait_for(lambda: not psutil.pid_exists(simPid), 'the simulator ended', timeout=60)
            refresh(session, sim)
            emittedBefore = len(set(i.getObjId() for i in sim.outputMovies.iterItems()))
            assert not sim.isFinished(), 'the full disk did not stop the simulator'
            # maxshift, back from the full disk, sees the failed producer and
            # keeps its outputs open (the old code closed them at this point)
            wait_for(lambda: WAITING in log_of(refresh(session, maxshift)),
                     'maxshift waiting for the failed simulator')
            assert psutil.pid_exists(maxshiftPid), 'maxshift died on the full disk'
            assert_outputs(maxshift, 'open')
            waitingSeen = time.time()
            launch(session, sim)  # the operator continues what failed
            wait_until_done(session, sim, timeout=300)
            wait_until_done(session, maxshift, timeout=300)
            ended = time.time()
            assert_each_once(sim, maxshift, 600)
            assert_outputs(maxshift, 'closed')
            log = log_of(maxshift)
            report({'produced': 600, 'classified': 600,
                    'emitted_before_continue': emittedBefore,
                    'disk_full_s': round(freedAt - fullAt, 1),
                    'maxshift_hit_full_disk': 'Disk space is back' in log,
                    'producer_continued_after_s': round(waitingSeen - fullAt),
                    'session_s': round(ended - started)})
        finally:
            _end_of(session, launched)
            session.closeMapper()
            os.chdir(cwd)
