"""Faults injected into real headless runs: kills, a busy upstream, an
upstream that dies, bad movies, an unreadable input, and concurrent readers.
Each test counts what comes out: nothing lost, nothing duplicated."""
import os
import signal
import sqlite3
import threading
import time

import pytest

from maxshift_checks import (MIC_OUTPUTS, MOVIE_OUTPUTS, along_x,
                             assert_split_consistent, ids, run_static)
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                          refresh, wait_for_output, wait_until_done)
from xmipp3.protocols.protocol_movie_max_shift import (
    ATTR_DISCARD_REASON, KILL_AT_VARIABLE, OUTPUT_FILES, OUTPUT_MICS,
    OUTPUT_MICS_DISCARDED, OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED,
    OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

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


def test_killed_at_six_points_and_continued_loses_and_duplicates_nothing(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=240, batchSize=10, batchInterval=1.0,
        outlierFraction=0.2, seed=11))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = new_maxshift(project, sim, pollInterval=0.3)
    killed = []
    for point in KILL_POINTS:
        launch_with_kill_point(project, maxshift, point)
        wait_inactive(project, maxshift)
        assert not maxshift.isFinished(), 'the run ended before reaching %s' % point
        killed.append(point)
    assert sim.isActive() or refresh(project, sim).isActive(), \
        'the stream ended before the last kill: the kills were not mid-stream'
    launch(project, maxshift)
    wait_until_done(project, sim)
    wait_until_done(project, maxshift)
    assert killed == KILL_POINTS
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted) + len(discarded) == 240
    for name in MOVIE_OUTPUTS + tuple(MIC_OUTPUTS) + tuple(MIC_OUTPUTS.values()):
        items = [item.getObjId() for item in output_items(maxshift, name)]
        assert len(items) == len(set(items)), 'duplicates in %s' % name


def _hold_exclusive_locks(path, stop, held):
    """Take the input file's write lock for 0.3 s at a time, as a busy writer."""
    while not stop.is_set():
        try:
            connection = sqlite3.connect(path, timeout=30)
            connection.execute('BEGIN EXCLUSIVE')
            time.sleep(0.3)
            connection.rollback()
            connection.close()
            held.append(1)
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)


def test_busy_upstream_appending_in_bursts_loses_nothing(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=3000, batchSize=500, batchInterval=0.2,
        seed=5))
    wait_for_output(project, sim, 'outputMovies')
    stop, held = threading.Event(), []
    locker = threading.Thread(target=_hold_exclusive_locks,
                              args=(os.path.join(project.path, sim.outputMovies.getFileName()),
                                    stop, held))
    locker.start()
    try:
        maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.2))
        wait_until_done(project, sim, timeout=300)
        wait_until_done(project, maxshift, timeout=300)
    finally:
        stop.set()
        locker.join()
    assert held, 'the input was never locked: the test did not test anything'
    log = ''.join(maxshift.getLogsAsStrings())
    lockLines = [line for line in log.splitlines() if 'locked' in line]
    assert all('trying again' in line for line in lockLines), lockLines
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted) + len(discarded) == 3000


@pytest.mark.parametrize('ending', ['stopped', 'killed'])
def test_upstream_that_dies_is_waited_for_then_finished_and_continued(project, ending):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=60, batchSize=10, batchInterval=1.0,
        seed=21))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5))
    time.sleep(2.5)
    if ending == 'stopped':
        project.stopProtocol(sim)
    else:
        os.kill(refresh(project, sim).getPid(), signal.SIGKILL)
    started = time.time()
    wait_until_done(project, maxshift, timeout=120)
    waited = time.time() - started
    if ending == 'stopped':  # Scipion closes an aborted protocol's outputs
        assert waited < 8, 'took %.1f s' % waited
    else:  # a killed one leaves them open: the grace wait applies
        assert 8 <= waited <= 40, 'grace wait of %.1f s' % waited
        log = ''.join(maxshift.getLogsAsStrings())
        assert 'The protocol producing the input movies' in log
        assert 'is dead (process' in log
    emitted = ids(sim, 'outputMovies')
    assert 0 < len(emitted) < 60
    accepted, discarded = (ids(maxshift, name) for name in MOVIE_OUTPUTS)
    assert accepted | discarded == emitted and not accepted & discarded
    for name in MOVIE_OUTPUTS:
        assert getattr(maxshift, name).isStreamClosed()
    launch(project, refresh(project, sim))  # the upstream is continued ...
    wait_until_done(project, sim)
    launch(project, maxshift)  # ... and so is maxshift
    wait_until_done(project, maxshift)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted | discarded) == 60


BAD_MOVIES = [  # (trajectory, expected: 'accepted', 'flagged' or a reason prefix)
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
     'invalid alignment: aligned frames 1-40 are 40 frames but there are 3 shifts'),
]


def test_each_bad_movie_gets_its_documented_decision_and_a_log_line(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json, [t for t, _ in BAD_MOVIES])
    assert_split_consistent(sim, maxshift)
    accepted = {m.getObjId(): m for m in output_items(maxshift, OUTPUT_MOVIES)}
    discarded = {m.getObjId(): m for m in output_items(maxshift, OUTPUT_MOVIES_DISCARDED)}
    log = ''.join(maxshift.getLogsAsStrings())
    for movieId, (trajectory, expected) in enumerate(BAD_MOVIES, start=1):
        if expected in ('accepted', 'flagged'):
            assert movieId in accepted, trajectory['name']
            if expected == 'flagged':
                assert 'accepted without motion check' in log
                assert accepted[movieId].getMicName() in log
        else:
            movie = discarded[movieId]
            assert movie.getAttributeValue(ATTR_DISCARD_REASON).startswith(expected)
            if expected.startswith('invalid'):
                assert '%s (id %d) discarded: %s' % (movie.getMicName(), movieId,
                                                     expected) in log


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
