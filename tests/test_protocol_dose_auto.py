"""Dose-aware metrics, early/late limits and automatic thresholds, in real
headless runs of movie maxshift."""
import json
import os
import time

import pytest

from maxshift_checks import along_x, assert_split_consistent, ids, run_static
from xmipp3.maxshift import table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                          refresh, wait_for_output, wait_until_done)
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_EARLY_MOTION, ATTR_FIRST_THIRD_STEP, ATTR_LATE_MOTION,
    ATTR_MOTION_NOTE, OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
from xmipp3.protocols.protocol_movie_max_shift import KILL_AT_VARIABLE
from xmipp3.maxshift.simulation import load_trajectories, random_walk_trajectories

TUTORIAL_SOURCE = 'dials/data-files'  # RELION tutorial, 1.277 e/A2 per frame


def test_early_and_late_motion_equal_relion_on_the_tutorial_movies(project, tmp_json):
    entries = [e for e in load_trajectories() if e['source'] == TUTORIAL_SOURCE]
    assert len(entries) == 24
    sim, maxshift = run_static(project, tmp_json, entries,
                               simParams={'samplingRate': 0.0, 'doseInitial': 0.0})
    assert_split_consistent(sim, maxshift)
    movies = {m.getObjId(): m for name in (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
              for m in output_items(maxshift, name)}
    rows = {r['id']: r for r in table.read_table(maxshift.getMotionTablePath())}
    for movieId, entry in enumerate(entries, start=1):
        _, early, late = entry['relion_accum_motion_total_early_late_px']
        pixel = entry['pixel_size_A']
        movie = movies[movieId]
        assert movie.getAttributeValue(ATTR_EARLY_MOTION) == pytest.approx(early * pixel, abs=1e-3)
        assert movie.getAttributeValue(ATTR_LATE_MOTION) == pytest.approx(late * pixel, abs=1e-3)
        assert movie.getAttributeValue(ATTR_FIRST_THIRD_STEP) > 0
        assert rows[movieId]['earlyMotion_A'] == pytest.approx(early * pixel, abs=1e-3)


def test_without_dose_information_early_and_late_are_unavailable(project, tmp_json):
    sim, maxshift = run_static(
        project, tmp_json, [along_x('a', [1, 2, 3]), along_x('b', [9, 1, 1])],
        simParams={'dosePerFrame': 0.0}, maxEarlyMotion=1.0)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert accepted == {1, 2}, 'an early motion limit must not act without dose'
    for movie in output_items(maxshift, OUTPUT_MOVIES):
        assert movie.getAttributeValue(ATTR_EARLY_MOTION) is None
        assert movie.getAttributeValue(ATTR_LATE_MOTION) is None
        assert 'early/late motion not checked: no dose information' in \
            movie.getAttributeValue(ATTR_MOTION_NOTE)
    for tableRow in table.read_table(maxshift.getMotionTablePath()):
        assert tableRow['earlyMotion_A'] is None and tableRow['lateMotion_A'] is None


def test_early_and_late_limits_discard_with_their_reason(project, tmp_json):
    trajectories = [along_x('early_mover', [5, 5, 5, 1, 1, 1]),   # early 15, late 3
                    along_x('late_drifter', [1, 1, 1, 4, 4, 4, 4]),  # early 3, late 16
                    along_x('calm', [1, 1, 1, 1, 1])]               # early 3, late 2
    sim, maxshift = run_static(project, tmp_json, trajectories,
                               simParams={'dosePerFrame': 1.0},
                               maxFrameShift=100.0, maxMovieShift=1000.0,
                               maxEarlyMotion=10.0, maxLateMotion=10.0)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert accepted == {3} and discarded == {1, 2}
    reasons = {m.getObjId(): m.getAttributeValue(ATTR_DISCARD_REASON)
               for m in output_items(maxshift, OUTPUT_MOVIES_DISCARDED)}
    assert reasons[1] == 'early motion: 15.00 Å > 10 Å'
    assert reasons[2] == 'late motion: 16.00 Å > 10 Å'
    summary = '\n'.join(maxshift.summary())
    assert 'max early motion 10 Å (dose cutoff 4 e/Å²)' in summary
    assert 'discarded by early motion: 1' in summary


def test_default_settings_give_the_same_decisions_with_dose_information(project, tmp_json):
    """Early/late metrics are computed but never change the four rules."""
    trajectories = [along_x('early_mover', [5, 5, 5, 1, 1, 1]),
                    along_x('big_jump', [1, 30, 1])]
    sim, maxshift = run_static(project, tmp_json, trajectories,
                               simParams={'dosePerFrame': 1.0})
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert accepted == {1} and discarded == {2}


def simulated_session(project, movies=300, fraction=0.1, seed=4, interval=0.5):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=movies, outlierFraction=fraction,
        seed=seed, batchSize=30, batchInterval=interval))
    wait_for_output(project, sim, 'outputMovies')
    injected = {index + 1 for index, t in enumerate(
        random_walk_trajectories(movies, 40, fraction, 1.0, seed)) if t['outlier']}
    return sim, injected


def test_automatic_thresholds_find_the_injected_outliers(project):
    sim, injected = simulated_session(project)
    maxshift = launch(project, new_maxshift(
        project, sim, pollInterval=0.3, maxFrameShift=1000.0, maxMovieShift=10000.0,
        useAutoThresholds=True))
    wait_until_done(project, sim)
    wait_until_done(project, maxshift)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted | discarded) == 300
    precision = len(discarded & injected) / len(discarded)
    recall = len(discarded & injected) / len(injected)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    for movie in output_items(maxshift, OUTPUT_MOVIES_DISCARDED):
        assert movie.getAttributeValue(ATTR_DISCARD_REASON).endswith('(automatic threshold)')
    log = ''.join(maxshift.getLogsAsStrings())
    assert 'Warm-up over: automatic thresholds (median + 6 sigma' in log
    summary = '\n'.join(maxshift.summary())
    assert 'Automatic thresholds (median + 6 sigma of' in summary
    assert 'discarded by total travel (automatic)' in summary or \
        'discarded by max frame shift (automatic)' in summary
    with open(os.path.join(project.path, maxshift._getExtraPath('auto_thresholds.json'))) as state:
        assert json.load(state)['n_added'] == 300


def test_automatic_mode_killed_during_the_warm_up_and_continued(project):
    # 8 s of stream: still running at the first poll, which sees far fewer
    # movies than the warm-up even on a loaded machine
    sim, injected = simulated_session(project, movies=240, seed=9, interval=1.0)
    maxshift = new_maxshift(project, sim, pollInterval=0.3, maxFrameShift=1000.0,
                            maxMovieShift=10000.0, useAutoThresholds=True,
                            autoWarmup=200)
    os.environ[KILL_AT_VARIABLE] = 'between-polls:1'
    try:
        launch(project, maxshift)
    finally:
        del os.environ[KILL_AT_VARIABLE]
    while refresh(project, maxshift).isActive():
        time.sleep(0.1)
    assert not maxshift.isFinished()
    written = sum(len(ids(maxshift, name)) for name in (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED))
    assert written == 0, 'movies of the warm-up must be held, not written'
    launch(project, maxshift)
    wait_until_done(project, sim)
    wait_until_done(project, maxshift)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted | discarded) == 240
    assert discarded & injected, 'outliers should still be found after the restart'
