"""Movie maxshift launched for real in a headless Scipion project, fed by the
plugin's simulator of aligned movies."""
import json
import time

import pytest
import pwem.objects as emobj

from maxshift_checks import (DESIGNED, DISCARDED_BY_RULE, MIC_OUTPUTS,
                             MOVIE_OUTPUTS, along_x, assert_split_consistent,
                             ids, run_static)
from xmipp3.maxshift import motion
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                          refresh, wait_for_output, wait_until_done)
from xmipp3.protocols import XmippProtMovieMaxShift as MaxShift
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_MAX_FRAME_SHIFT, ATTR_MOTION_NOTE, ATTR_TOTAL_TRAVEL,
    OUTPUT_MICS, OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

@pytest.fixture(scope='module')
def designed_sim(project, tmp_path_factory):
    path = tmp_path_factory.mktemp('designed') / 'designed.json'
    path.write_text(json.dumps([DESIGNED[i][0] for i in sorted(DESIGNED)]))
    sim = launch(project, new_simulation(project, trajectoryFile=str(path),
                                         batchSize=1000, samplingRate=1.0),
                 wait=True)
    assert sim.getStatus() == 'finished', sim.getErrorMessage()
    return sim


@pytest.mark.parametrize('rule', sorted(DISCARDED_BY_RULE),
                         ids=MaxShift.REJ_TYPES)
def test_each_rule_discards_the_designed_movies(project, designed_sim, rule):
    maxshift = launch(project, new_maxshift(project, designed_sim, rejType=rule,
                                            pollInterval=0.5), wait=True)
    assert maxshift.getStatus() == 'finished', maxshift.getErrorMessage()
    accepted, discarded = assert_split_consistent(designed_sim, maxshift)
    assert discarded == DISCARDED_BY_RULE[rule]
    assert accepted == set(DESIGNED) - DISCARDED_BY_RULE[rule]
    for name in MOVIE_OUTPUTS + tuple(MIC_OUTPUTS) + tuple(MIC_OUTPUTS.values()):
        outputSet = getattr(maxshift, name, None)
        if outputSet is not None:
            assert outputSet.isStreamClosed(), name
        for item in output_items(maxshift, name):
            _, frameShift, travel = DESIGNED[item.getObjId()]
            assert item.getAttributeValue(ATTR_MAX_FRAME_SHIFT) == pytest.approx(frameShift)
            assert item.getAttributeValue(ATTR_TOTAL_TRAVEL) == pytest.approx(travel)
    reasons = {item.getObjId(): item.getAttributeValue(ATTR_DISCARD_REASON)
               for item in output_items(maxshift, OUTPUT_MOVIES_DISCARDED)}
    if rule == MaxShift.REJ_OR:
        assert reasons[2].startswith('max frame shift: 15.00 Å > 10 Å')
        assert reasons[3].startswith('total travel: 60.00 Å > 45 Å')
        assert reasons[4].startswith('max frame shift and total travel')
    summary = '\n'.join(maxshift.summary())
    assert 'accepted: %d' % len(accepted) in summary
    assert 'discarded: %d' % len(discarded) in summary


def test_outputs_copy_their_own_input_info_and_binned_micrographs_keep_sampling(
        project, tmp_json):
    sim, maxshift = run_static(project, tmp_json,
                               [DESIGNED[i][0] for i in sorted(DESIGNED)],
                               simParams={'micBinning': 2.0, 'dosePerFrame': 1.5})
    for name in MOVIE_OUTPUTS:
        assert getattr(maxshift, name).getSamplingRate() == pytest.approx(1.0)
        assert getattr(maxshift, name).getAcquisition().getDosePerFrame() == pytest.approx(1.5)
    for kept, dropped in MIC_OUTPUTS.items():
        for name in (kept, dropped):
            assert getattr(maxshift, name).getSamplingRate() == pytest.approx(2.0)
            for mic in output_items(maxshift, name):
                assert mic.getSamplingRate() == pytest.approx(2.0)
    assert_split_consistent(sim, maxshift)


def test_parent_without_micrographs_splits_only_movies(project, tmp_json):
    sim, maxshift = run_static(
        project, tmp_json, [DESIGNED[i][0] for i in sorted(DESIGNED)],
        simParams={'makeMicrographs': False, 'makeDoseWeighted': False})
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert discarded == DISCARDED_BY_RULE[MaxShift.REJ_OR]
    for name in tuple(MIC_OUTPUTS) + tuple(MIC_OUTPUTS.values()):
        assert not maxshift.hasAttribute(name)
    assert 'produced no micrographs' in ''.join(maxshift.getLogsAsStrings())


def test_micrographs_are_matched_by_micname_when_ids_differ(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json,
                               [DESIGNED[i][0] for i in sorted(DESIGNED)],
                               simParams={'micIdOffset': 1000})
    for kept, dropped in MIC_OUTPUTS.items():
        assert ids(maxshift, dropped) == {1000 + i for i in DISCARDED_BY_RULE[MaxShift.REJ_OR]}
        assert ids(maxshift, kept) == {1000 + i for i in (1, 5)}


def test_movies_without_micrograph_are_classified_and_logged(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json,
                               [DESIGNED[i][0] for i in sorted(DESIGNED)],
                               simParams={'moviesWithoutMicrograph': '2 5'})
    accepted, discarded = (ids(maxshift, name) for name in MOVIE_OUTPUTS)
    assert accepted == {1, 5} and discarded == {2, 3, 4}
    for kept, dropped in MIC_OUTPUTS.items():
        assert ids(maxshift, kept) == {1}
        assert ids(maxshift, dropped) == {3, 4}
    log = ''.join(maxshift.getLogsAsStrings())
    for name in MIC_OUTPUTS:
        assert '2 classified movies have no micrograph in %s: ids 2, 5' % name in log


def test_micrographs_whose_movie_never_comes_are_discarded_with_a_reason(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json,
                               [DESIGNED[i][0] for i in sorted(DESIGNED)],
                               simParams={'micrographsWithoutMovie': '3'})
    assert ids(sim, 'outputMovies') == {1, 2, 4, 5}
    accepted, discarded = (ids(maxshift, name) for name in MOVIE_OUTPUTS)
    assert accepted == {1, 5} and discarded == {2, 4}
    log = ''.join(maxshift.getLogsAsStrings())
    for kept, dropped in MIC_OUTPUTS.items():
        assert ids(maxshift, kept) == {1, 5}
        assert ids(maxshift, dropped) == {2, 3, 4}
        orphan = [m for m in output_items(maxshift, dropped) if m.getObjId() == 3][0]
        reason = orphan.getAttributeValue(ATTR_DISCARD_REASON)
        assert reason == 'no movie: no input movie has id 3 or micName %s' % orphan.getMicName()
        assert orphan.getAttributeValue(ATTR_MAX_FRAME_SHIFT) is None
        assert 'Micrograph %s discarded: %s' % (orphan.getMicName(), reason) in log


def test_unusable_shifts_are_discarded_and_motionless_movies_flagged(project, tmp_json):
    nan, inf = float('nan'), float('inf')
    trajectories = [
        along_x('good', [1, 2, 1]),
        {'name': 'has_nan', 'pixel_size_A': 1.0, 'shift_x_px': [0, nan, 2],
         'shift_y_px': [0, 0, 0]},
        {'name': 'has_inf', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1, 2],
         'shift_y_px': [0, inf, 0]},
        {'name': 'mismatched', 'pixel_size_A': 1.0, 'shift_x_px': [0, 1, 2], 'shift_y_px': [0, 1]},
        {'name': 'empty', 'pixel_size_A': 1.0, 'shift_x_px': [], 'shift_y_px': []},
        {'name': 'one_frame', 'pixel_size_A': 1.0, 'shift_x_px': [0.5], 'shift_y_px': [0.2]},
        {'name': 'all_zero', 'pixel_size_A': 1.0, 'shift_x_px': [0] * 10, 'shift_y_px': [0] * 10},
    ]
    sim, maxshift = run_static(project, tmp_json, trajectories)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert discarded == {2, 3, 4, 5}
    assert accepted == {1, 6, 7}
    log = ''.join(maxshift.getLogsAsStrings())
    for movie in output_items(maxshift, OUTPUT_MOVIES_DISCARDED):
        assert movie.getAttributeValue(ATTR_DISCARD_REASON).startswith('invalid alignment: ')
        assert movie.getAttributeValue(ATTR_MAX_FRAME_SHIFT) is None
        assert movie.getMicName() in log
    notes = {m.getObjId(): m.getAttributeValue(ATTR_MOTION_NOTE)
             for m in output_items(maxshift, OUTPUT_MOVIES)}
    assert notes[1] == ''
    assert notes[6].startswith('no motion information: a single frame')
    assert notes[7].startswith('no motion information: all shifts are zero')
    summary = '\n'.join(maxshift.summary())
    assert 'WARNING: 2 movies have no motion information' in summary
    assert 'discarded by invalid alignment: 4' in summary


def test_streaming_input_is_classified_as_it_arrives(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=60, batchSize=10, batchInterval=2.0,
        outlierFraction=0.2, seed=7, micrographLag=1))
    wait_for_output(project, sim, 'outputMovies')
    assert not sim.hasAttribute(OUTPUT_MICS)  # appears after maxshift starts
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5))
    sizes = []
    while refresh(project, maxshift).isActive():
        if maxshift.hasAttribute(OUTPUT_MOVIES_DISCARDED) or maxshift.hasAttribute(OUTPUT_MOVIES):
            sizes.append(sum(getattr(maxshift, name).getSize()
                             for name in MOVIE_OUTPUTS if maxshift.hasAttribute(name)))
        time.sleep(0.3)
    wait_until_done(project, maxshift)
    wait_until_done(project, sim)
    # 6 batches 2 s apart: even a launch slowed by a busy machine sees 3 of them
    assert len(set(sizes) - {60}) >= 3, 'outputs did not grow batch by batch: %s' % sizes
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted | discarded) == 60
    for movie in output_items(sim, 'outputMovies'):
        xs, ys = movie.getAlignment().getShifts()
        expected = motion.decide(motion.measure_motion(xs, ys, movie.getSamplingRate()),
                                 motion.REJ_OR, 10.0, 45.0)
        assert (movie.getObjId() in accepted) == expected.accepted
    assert discarded, 'the injected outliers should be discarded'
    for name in MOVIE_OUTPUTS + tuple(MIC_OUTPUTS):
        assert getattr(maxshift, name).isStreamClosed()


def test_stopped_mid_stream_and_continued_loses_and_duplicates_nothing(project):
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=60, batchSize=10, batchInterval=1.5,
        seed=3))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5))
    wait_for_output(project, maxshift, OUTPUT_MOVIES)
    project.stopProtocol(maxshift)
    stopped = refresh(project, maxshift)
    assert stopped.isAborted()
    classifiedBeforeStop = sum(len(ids(maxshift, n)) for n in MOVIE_OUTPUTS)
    assert 0 < classifiedBeforeStop < 60
    wait_until_done(project, sim)
    launch(project, maxshift)  # "Continue": the default run mode
    wait_until_done(project, maxshift)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted) + len(discarded) == 60
    for name in MOVIE_OUTPUTS + tuple(MIC_OUTPUTS) + tuple(MIC_OUTPUTS.values()):
        items = [item.getObjId() for item in output_items(maxshift, name)]
        assert len(items) == len(set(items)), 'duplicates in %s' % name
    assert 'Resuming: ' in ''.join(maxshift.getLogsAsStrings())
    # the input's layout is counted again from the outputs: all 60, once
    assert [line for line in maxshift.summary() if line.startswith('Input')] == \
        ['Input alignments: shifts for frames 1-40 of 40 (60 movies)']


def test_validation_rejects_movies_without_alignment(project, tmp_path):
    movies = emobj.SetOfMovies(filename=str(tmp_path / 'imported.sqlite'))
    movies.setSamplingRate(1.0)
    movie = emobj.Movie(location='imported_movie.mrcs')
    movie.setMicName('imported_movie.mrc')
    movies.append(movie)
    movies.write()
    movies.close()
    maxshift = project.newProtocol(MaxShift)
    maxshift.inputMovies.set(movies)
    errors = maxshift.validate()
    assert any('carry no alignment' in error for error in errors), errors


def test_validation_accepts_a_still_empty_streaming_input(project, tmp_path):
    movies = emobj.SetOfMovies(filename=str(tmp_path / 'empty.sqlite'))
    movies.setStreamState(movies.STREAM_OPEN)
    movies.write()
    maxshift = project.newProtocol(MaxShift)
    maxshift.inputMovies.set(movies)
    assert maxshift.validate() == []


@pytest.mark.parametrize('param, message', [
    ('maxFrameShift', 'Max frame shift must be a positive number of Å.'),
    ('maxMovieShift', 'Max movie shift must be a positive number of Å.')])
def test_validation_requires_positive_thresholds(project, designed_sim, param, message):
    # Each limit has its own message, and only a limit the rule uses is checked
    assert new_maxshift(project, designed_sim, **{param: 0.0}).validate() == [message]
    unused = MaxShift.REJ_MOVIE if param == 'maxFrameShift' else MaxShift.REJ_FRAME
    assert new_maxshift(project, designed_sim, rejType=unused,
                        **{param: 0.0}).validate() == []


def test_summary_png_is_written_for_dashboards(project, designed_sim):
    maxshift = launch(project, new_maxshift(project, designed_sim, pollInterval=0.5),
                      wait=True)
    path = maxshift.getSummaryPlotPath()
    with open(path, 'rb') as png:
        assert png.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image
    height, width = matplotlib.image.imread(path).shape[:2]
    assert width >= 800 and height >= 250
    assert 'Summary plot of 5 movies drawn' in ''.join(maxshift.getLogsAsStrings())


def test_validation_rejects_an_unknown_rejection_type(project, designed_sim):
    errors = new_maxshift(project, designed_sim, rejType=7).validate()
    assert any('rejection type must be one of 0-3' in error for error in errors), errors
