"""Faults injected into real headless runs: kills, a busy upstream, an
upstream that dies, bad movies, an unreadable input, and concurrent readers.
Each test counts what comes out: nothing lost, nothing duplicated."""
import os
import re
import signal
import sqlite3
import threading
import time

import psutil
import pytest

from maxshift_checks import (WAITING, along_x, assert_each_once, assert_outputs,
                             assert_split_consistent, classified, hold_while_active,
                             ids, log_of, report, run_static, wait_for)
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                                   refresh, wait_for_output, wait_until_done)
from xmipp3.maxshift.streaming import KILLED_LINE
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_EARLY_MOTION, ATTR_MOTION_NOTE, OUTPUT_FILES,
    OUTPUT_MICS, OUTPUT_MICS_DISCARDED, OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED,
    OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
from xmipp3.protocols.protocol_movie_max_shift import KILL_AT_VARIABLE

KILL_POINTS = ['writing:1', 'evaluating:7', 'table:1', 'between-polls:2',
               'writing:4', 'evaluating:3']


def wait_inactive(project, protocol, timeout=120):
    deadline = time.time() + timeout
    while refresh(project, protocol).isActive():
        assert time.time() < deadline, '%s still active' % protocol.getRunName()
        time.sleep(0.2)
    return protocol


def launch_with_kill_point(project, protocol, point):
    os.environ[KILL_AT_VARIABLE] = point
    try:
        return launch(project, protocol)
    finally:
        del os.environ[KILL_AT_VARIABLE]


def killed_at(protocol, point):
    """How many times the run's log says the process was killed at point."""
    return log_of(protocol).count(KILLED_LINE % (KILL_AT_VARIABLE, point))


def test_killed_at_six_points_and_continued_loses_and_duplicates_nothing(project):
    # 30 batches 1 s apart: the six kills and relaunches take ~7 s on 2
    # busy cores, so the stream is still running at the last kill even on a
    # machine 3x slower (checked below)
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=300, batchSize=10, batchInterval=1.0,
        outlierFraction=0.2, seed=11))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = new_maxshift(project, sim, pollInterval=0.3)
    started = time.time()
    for point in KILL_POINTS:
        launch_with_kill_point(project, maxshift, point)
        wait_inactive(project, maxshift)
        # SIGKILLed: the process vanished without a word, which pyworkflow
        # reports as such; an exception would have failed it with its message
        assert maxshift.isFailed(), 'the run %s instead of being killed at %s' % (
            maxshift.getStatus(), point)
        assert re.match(r'Process \d+ not found running on the machine',
                        maxshift.getErrorMessage()), maxshift.getErrorMessage()
        assert killed_at(maxshift, point) == 1, 'not killed at %s' % point
    killsTook = time.time() - started
    assert refresh(project, sim).isActive(), \
        'the stream ended before the last kill: the kills were not mid-stream'
    classifiedBefore = classified(maxshift)
    assert 0 < classifiedBefore < 300
    launch(project, maxshift)
    wait_until_done(project, sim)
    wait_until_done(project, maxshift)
    log = log_of(maxshift)
    assert log.count('Fault injected (%s=' % KILL_AT_VARIABLE) == len(KILL_POINTS)
    assert log.count('Resuming: ') == len(KILL_POINTS)
    assert_each_once(sim, maxshift, 300)
    assert_outputs(maxshift, 'closed')
    report({'kills_s': round(killsTook, 1), 'classified_before_last_continue':
            classifiedBefore})


def _has_open(pid, path):
    """Whether the process pid, or a process it started, has the file open."""
    if pid is None:
        return False
    try:
        root = psutil.Process(pid)
        return any(os.path.realpath(opened.path) == path
                   for process in [root] + root.children(recursive=True)
                   for opened in process.open_files())
    except psutil.Error:
        return False


def _hold_exclusive_locks(path, stop, reader, holds):
    """Take the input file's write lock for 0.3 s at a time, as a busy
    writer. A hold is recorded as contended when maxshift's process
    (reader['pid']) had the file open at two looks 0.05 s apart during it:
    holding the write lock, nobody else can be running a statement on the
    file, and maxshift opens it only for a poll's few quick statements, so
    it was waiting for the lock to read."""
    path = os.path.realpath(path)
    while not stop.is_set():
        try:
            connection = sqlite3.connect(path, timeout=30)
            connection.execute('BEGIN EXCLUSIVE')
            looks = []
            for _ in range(6):
                looks.append(_has_open(reader.get('pid'), path))
                time.sleep(0.05)
            holds.append(any(a and b for a, b in zip(looks, looks[1:])))
            connection.rollback()
            connection.close()
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)


def test_busy_upstream_appending_in_bursts_loses_nothing(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=3000, batchSize=500, batchInterval=0.2,
        seed=5))
    wait_for_output(project, sim, 'outputMovies')
    stop, reader, holds = threading.Event(), {}, []
    locker = threading.Thread(target=_hold_exclusive_locks,
                              args=(os.path.join(project.path, sim.outputMovies.getFileName()),
                                    stop, reader, holds))
    locker.start()
    try:
        maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.2))
        reader['pid'] = maxshift.getPid()
        wait_until_done(project, sim, timeout=300)
        wait_until_done(project, maxshift, timeout=300)
    finally:
        stop.set()
        locker.join()
    report({'holds': len(holds), 'contended': sum(holds)})
    assert any(holds), ('maxshift never read the input while it was locked '
                        '(%d holds): the test did not test anything' % len(holds))
    log = log_of(maxshift)
    lockLines = [line for line in log.splitlines() if 'locked' in line]
    assert all('trying again' in line for line in lockLines), lockLines
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted) + len(discarded) == 3000


# The old behaviour gave up on a producer that was down after 3 polls (at
# least 10 s) and closed the outputs. These tests wait 30 s, three times
# that, with 1 s polls (the issue says 60 s: 30 s keeps the suite short).
DOWN_WAIT = 30.0


def stream_then_kill(project, ending='killed', **maxParams):
    """A 60-movie stream with maxshift following it (1 s polls); the
    producer is killed (or stopped) mid-stream. Returns sim, maxshift."""
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=60, batchSize=10, batchInterval=1.0,
        seed=21))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=1.0,
                                            **maxParams))
    wait_for_output(project, maxshift, OUTPUT_MOVIES)
    if ending == 'stopped':
        project.stopProtocol(refresh(project, sim))
    else:
        os.kill(refresh(project, sim).getPid(), signal.SIGKILL)
        wait_for(lambda: not psutil.pid_exists(sim.getPid()), 'the producer gone')
    return sim, maxshift


def test_producer_killed_and_continued_later_is_followed_to_the_end(project):
    started = time.time()
    sim, maxshift = stream_then_kill(project)
    killed = time.time()
    wait_for(lambda: WAITING in log_of(maxshift), 'the waiting message logged')
    assert 'its process %d is gone' % sim.getPid() in log_of(maxshift)
    hold_while_active(project, maxshift, killed + DOWN_WAIT)
    assert any(WAITING in line for line in maxshift.summary())
    assert_outputs(maxshift, 'open')
    emittedBefore = len(ids(sim, 'outputMovies'))
    assert 0 < emittedBefore < 60 and classified(maxshift) == emittedBefore
    launch(project, refresh(project, sim))  # continued; maxshift untouched
    wait_until_done(project, sim)
    wait_until_done(project, maxshift, timeout=180)
    assert_each_once(sim, maxshift, 60)
    assert_outputs(maxshift, 'closed')
    assert 'is running again after' in log_of(maxshift)
    assert not any(WAITING in line for line in maxshift.summary())
    report({'produced': 60, 'before_kill': emittedBefore, 'classified': classified(maxshift),
            'down_s': round(DOWN_WAIT), 'maxshift_run_s': round(time.time() - started)})


def test_producer_killed_and_never_continued_is_waited_for_until_maxshift_is_stopped(project):
    started = time.time()
    sim, maxshift = stream_then_kill(project)
    killed = time.time()
    wait_for(lambda: WAITING in log_of(maxshift), 'the waiting message logged')
    hold_while_active(project, maxshift, killed + DOWN_WAIT)
    summary = '\n'.join(maxshift.summary())
    assert 'Waiting for %s (its process %d is gone' % (sim.getRunName(), sim.getPid()) in summary
    assert_outputs(maxshift, 'open')
    emitted = ids(refresh(project, sim), 'outputMovies')
    project.stopProtocol(refresh(project, maxshift))  # the operator's choice
    assert refresh(project, maxshift).isAborted()
    assert_outputs(maxshift, 'closed')  # Scipion's stop closed them
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert accepted | discarded == emitted and len(accepted) + len(discarded) == len(emitted)
    stoppedAfter = time.time() - started
    # Continued again while the producer is still dead, it reopens its
    # outputs and waits; the producer continued, it follows to the end.
    launch(project, maxshift)
    wait_for(lambda: log_of(refresh(project, maxshift)).count(WAITING) >= 2,
             'waiting again after Continue')
    assert_outputs(maxshift, 'open')
    launch(project, refresh(project, sim))
    wait_until_done(project, sim)
    wait_until_done(project, maxshift, timeout=180)
    assert_each_once(sim, maxshift, 60)
    assert_outputs(maxshift, 'closed')
    report({'produced_before_kill': len(emitted), 'classified_at_stop': len(emitted),
            'stopped_after_s': round(stoppedAfter), 'after_continue': classified(maxshift)})


def test_a_stopped_producer_whose_sets_scipion_closed_is_still_waited_for(project):
    sim, maxshift = stream_then_kill(project, ending='stopped')
    assert refresh(project, sim).isAborted()
    assert sim.outputMovies.isStreamClosed()  # pyworkflow closed them
    wait_for(lambda: WAITING in log_of(refresh(project, maxshift)),
             'the waiting message logged')
    assert '(aborted at ' in log_of(maxshift)
    # The old code finished at the first poll that saw the sets closed
    hold_while_active(project, maxshift, time.time() + 12.0)
    assert_outputs(maxshift, 'open')
    launch(project, refresh(project, sim))  # reopens its sets, emits the rest
    wait_until_done(project, sim)
    wait_until_done(project, maxshift, timeout=180)
    assert_each_once(sim, maxshift, 60)
    assert_outputs(maxshift, 'closed')


def test_a_grace_time_set_by_the_facility_finishes_with_what_was_produced(project):
    sim, maxshift = stream_then_kill(project, upstreamGrace=3.0)
    wait_until_done(project, maxshift, timeout=180)
    emitted = ids(refresh(project, sim), 'outputMovies')
    assert 0 < len(emitted) < 60
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert accepted | discarded == emitted
    assert_outputs(maxshift, 'closed')
    log = log_of(maxshift)
    assert 'Waiting up to 3 s for %s' % sim.getRunName() in log
    assert 'finishing with what it produced' in log


UNNUMBERED = 'frame numbers unknown: '  # accepted, early/late motion unavailable
BAD_MOVIES = [  # (trajectory, expected: 'accepted', 'flagged', a note or a reason prefix)
    (along_x('good', [1, 2, 1]), 'accepted'),
    ({'name': 'nan', 'pixel_size_A': 1.0, 'shift_x_px': [0, float('nan'), 2],
      'shift_y_px': [0, 0, 0]}, 'invalid alignment: 1 of 3 frames have NaN'),
    ({'name': 'inf', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1, 2],
      'shift_y_px': [0, float('-inf'), 0]}, 'invalid alignment: 1 of 3 frames have NaN'),
    ({'name': 'lengths', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1, 2],
      'shift_y_px': [0, 1]}, 'invalid alignment: x has 3 shifts but y has 2'),
    ({'name': 'empty', 'pixel_size_A': 1.0, 'shift_x_px': [], 'shift_y_px': []},
     'invalid alignment: no shifts'),
    ({'name': 'one_frame', 'pixel_size_A': 1.0, 'shift_x_px': [3.0],
      'shift_y_px': [1.0]}, 'flagged'),
    ({'name': 'zeros', 'pixel_size_A': 1.0, 'shift_x_px': [0] * 8,
      'shift_y_px': [0] * 8}, 'flagged'),
    ({'name': 'huge', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1e300, -1e300],
      'shift_y_px': [0, 0, 0]}, 'max frame shift and total travel: 2e+300 Å > 10 Å'),
    ({'name': 'overflow', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1e308, -1e308],
      'shift_y_px': [0, 0, 0]}, 'invalid alignment: shifts too large to measure'),
    ({'name': 'range', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1, 2],
      'shift_y_px': [0, 0, 0], 'aligned_frames': [1, 40]},
     UNNUMBERED + 'aligned frames 1-40 are 40 frames but there are 3 shifts'),
    ({'name': 'zeros_range', 'pixel_size_A': 1.0, 'shift_x_px': [0] * 8,
      'shift_y_px': [0] * 8, 'aligned_frames': [3, 8]}, 'flagged'),
]


def test_each_bad_movie_gets_its_documented_decision_and_a_log_line(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json, [t for t, _ in BAD_MOVIES])
    assert_split_consistent(sim, maxshift)
    accepted = {m.getObjId(): m for m in output_items(maxshift, OUTPUT_MOVIES)}
    discarded = {m.getObjId(): m for m in output_items(maxshift, OUTPUT_MOVIES_DISCARDED)}
    log = ''.join(maxshift.getLogsAsStrings())
    for movieId, (trajectory, expected) in enumerate(BAD_MOVIES, start=1):
        if expected in ('accepted', 'flagged') or expected.startswith(UNNUMBERED):
            assert movieId in accepted, trajectory['name']
            movie = accepted[movieId]
            flaggedLine = 'Movie %s (id %d) accepted without motion check: ' % (
                movie.getMicName(), movieId)
            if expected == 'flagged':  # its own line, with its own note
                note = movie.getAttributeValue(ATTR_MOTION_NOTE)
                assert note.startswith('no motion information: '), note
                assert log.count(flaggedLine + note + '\n') == 1, trajectory['name']
            else:
                assert flaggedLine not in log, trajectory['name']
            if expected.startswith(UNNUMBERED):  # with a dose, but no frame numbers
                assert accepted[movieId].getAttributeValue(ATTR_MOTION_NOTE) == expected
                assert accepted[movieId].getAttributeValue(ATTR_EARLY_MOTION) is None
        else:
            movie = discarded[movieId]
            assert movie.getAttributeValue(ATTR_DISCARD_REASON).startswith(expected)
            if expected.startswith('invalid'):
                assert '%s (id %d) discarded: %s' % (movie.getMicName(), movieId,
                                                     expected) in log
    # numbered frames, a range that disagrees, no trajectory: each said once
    summary = maxshift.summary()
    stated = [line for line in summary if line.startswith('Input alignments: ')]
    assert len(stated) == 3 and log.count('Input alignments: ') == 3
    assert 'Input alignments: no trajectories: all shifts are zero' in '\n'.join(stated)


@pytest.mark.parametrize('samplingRate, pixelSize', [(-1.0, 1.0), (0.0, 0.0)])
def test_a_set_without_a_positive_sampling_rate_discards_every_movie(
        project, tmp_json, samplingRate, pixelSize):
    trajectories = [dict(along_x('m%d' % i, [1, 1]), pixel_size_A=pixelSize)
                    for i in range(3)]
    sim, maxshift = run_static(project, tmp_json, trajectories,
                               simParams={'samplingRate': samplingRate})
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert discarded == {1, 2, 3}
    for movie in output_items(maxshift, OUTPUT_MOVIES_DISCARDED):
        assert 'sampling rate' in movie.getAttributeValue(ATTR_DISCARD_REASON)


def test_an_unreadable_input_set_gives_a_clear_error(project, tmp_json):
    sim = launch(project, new_simulation(
        project, trajectoryFile=tmp_json([along_x('m', [1, 1])]), samplingRate=1.0),
        wait=True)
    with open(os.path.join(project.path, sim.outputMovies.getFileName()), 'wb') as broken:
        broken.write(b'this is not a database' * 100)
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5), wait=True)
    assert maxshift.isFailed()
    assert 'Cannot read the input movies from' in maxshift.getErrorMessage()
    assert 'Traceback' not in maxshift.getErrorMessage()


def _read_ids(path):
    if not os.path.exists(path):
        return set()
    connection = sqlite3.connect('file:%s?mode=ro' % path, uri=True, timeout=30)
    try:
        return {row[0] for row in connection.execute('SELECT id FROM Objects')}
    except sqlite3.OperationalError as error:
        if 'no such table' in str(error):
            return set()
        raise
    finally:
        connection.close()


def test_readers_never_see_a_movie_or_micrograph_on_both_sides(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=200, batchSize=20, batchInterval=0.3,
        outlierFraction=0.3, seed=8))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.2))
    folder = os.path.join(project.path, maxshift.getWorkingDir())
    paths = {name: os.path.join(folder, fileName) for name, fileName in OUTPUT_FILES.items()}
    reads, violations = 0, []
    while refresh(project, maxshift).isActive():
        seen = {name: _read_ids(path) for name, path in paths.items()}
        reads += 1
        movies = (seen[OUTPUT_MOVIES], seen[OUTPUT_MOVIES_DISCARDED])
        if movies[0] & movies[1]:
            violations.append('movies on both sides: %s' % (movies[0] & movies[1]))
        for kept, dropped in ((OUTPUT_MICS, OUTPUT_MICS_DISCARDED),
                              (OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED)):
            if seen[kept] & movies[1] or seen[dropped] & movies[0]:
                violations.append('a micrograph in %s went the other way' % kept)
        time.sleep(0.05)
    wait_until_done(project, maxshift)
    assert reads >= 10
    assert violations == []
    assert_split_consistent(refresh(project, sim), maxshift)


def test_without_a_producer_protocol_the_closed_input_set_ends_the_stream(project):
    # The input points at the set itself, not at a protocol's output: there
    # is no status to follow, so the set's own closed state is the end.
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=40, batchSize=10, batchInterval=1.0,
        seed=22, makeMicrographs=False, makeDoseWeighted=False))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = new_maxshift(project, sim, pollInterval=0.5)
    maxshift.inputMovies.set(refresh(project, sim).outputMovies)
    maxshift.inputMovies.setExtended(None)
    launch(project, maxshift)
    wait_for_output(project, maxshift, OUTPUT_MOVIES)
    assert refresh(project, sim).isActive(), 'the stream ended too early'
    wait_until_done(project, sim)
    wait_until_done(project, maxshift, timeout=180)
    assert_each_once(sim, maxshift, 40)
    assert_outputs(maxshift, 'closed')
