"""Figures of movie maxshift, built without a display: on designed tables,
and on the table of a real run, while it streams and once it has finished."""
import os
import time

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from xmipp3.maxshift import auto_threshold, motion, plots, table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                          refresh, wait_for_output, wait_until_done)
from xmipp3.protocols.protocol_movie_max_shift import (OUTPUT_MOVIES,
                                                       OUTPUT_MOVIES_DISCARDED)

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
LIMITS = (10.0, 45.0)


# -------------------------- Reading figures back -----------------------------
def axes_by_gid(figure):
    return {axes.get_gid(): axes for axes in figure.axes if axes.get_gid()}


def bar_counts(axes):
    """Movies binned per decision, summed over the bars drawn, checked
    against the count in each legend label."""
    counts = {}
    for container in axes.containers:
        name, _, labelCount = container.get_label().partition(' (')
        counts[name] = int(sum(bar.get_height() for bar in container.patches))
        assert int(labelCount.rstrip(')')) == counts[name]
    return counts


def scatter_points(axes):
    """Decision -> plotted (x, y) points."""
    return {collection.get_gid(): np.asarray(collection.get_offsets())
            for collection in axes.collections
            if collection.get_gid() in ('accepted', 'discarded')}


def legend_texts(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


def vertical_lines(axes):
    return sorted(line.get_xdata()[0] for line in axes.get_lines())


def lines_of(axes, gid):
    """Label -> position (A) of the lines with that gid: x of a vertical
    line, y of a horizontal one."""
    return {line.get_label(): (line.get_xdata()[0]
                               if line.get_xdata()[0] == line.get_xdata()[1]
                               else line.get_ydata()[0])
            for line in axes.get_lines() if line.get_gid() == gid}


def all_texts(figure):
    texts = [figure._suptitle.get_text()] if figure._suptitle else []
    for axes in figure.axes:
        texts += [axes.get_title()] + [text.get_text() for text in axes.texts]
    return texts


def assert_valid_png(path, size, dpi):
    with open(path, 'rb') as image:
        assert image.read(8) == PNG_MAGIC
    height, width = matplotlib.image.imread(path).shape[:2]
    assert (width, height) == (round(size[0] * dpi), round(size[1] * dpi))


def designed_arrays(rule, n=400, invalid=(3, 17), seed=1):
    """Metrics spread on both sides of the limits, decided by the rule as the
    protocol decides; some movies with an invalid alignment."""
    rng = np.random.default_rng(seed)
    frame = rng.uniform(0.2, 2.2 * LIMITS[0], n)
    travel = frame + rng.uniform(0.0, 2.0 * LIMITS[1], n)
    rows = []
    for index in range(n):
        measured = motion.Motion(frame[index], travel[index], 40)
        if index in invalid:
            measured = motion.Motion(np.nan, np.nan, 40, motion.MOTION_INVALID, 'x')
        decision = motion.decide(measured, rule, *LIMITS)
        rows.append(table.row(index + 1, 'mic_%04d.mrc' % (index + 1),
                              None if index in invalid else frame[index],
                              None if index in invalid else travel[index],
                              decision.accepted, decision.reason))
    return table.as_arrays(rows)


# -------------------------- Designed tables ----------------------------------
@pytest.mark.parametrize('rule', range(4), ids=motion.RULE_NAMES)
def test_histograms_bin_every_valid_movie_by_decision_and_draw_the_rule_limits(rule):
    arrays = designed_arrays(rule)
    valid = np.isfinite(arrays['maxFrameShift_A'])
    accepted = arrays['accepted']
    figure = plots.histograms_figure(arrays, rule, *LIMITS)
    found = axes_by_gid(figure)
    for gid, limit, used in ((plots.GID_FRAME_HISTOGRAM, LIMITS[0], motion.uses_frame_limit(rule)),
                             (plots.GID_TRAVEL_HISTOGRAM, LIMITS[1], motion.uses_movie_limit(rule))):
        axes = found[gid]
        assert bar_counts(axes) == {'accepted': np.sum(valid & accepted),
                                    'discarded': np.sum(valid & ~accepted)}
        assert vertical_lines(axes) == ([limit] if used else [])
        assert 'invalid alignment (2), not plotted' in legend_texts(axes)
    assert '%d movies' % len(accepted) in figure._suptitle.get_text()
    assert motion.RULE_NAMES[rule] in figure._suptitle.get_text()


@pytest.mark.parametrize('rule', range(4), ids=motion.RULE_NAMES)
def test_scatter_shades_exactly_the_region_where_the_rule_discards(rule):
    arrays = designed_arrays(rule)
    axes = axes_by_gid(plots.scatter_figure(arrays, rule, *LIMITS))[plots.GID_SCATTER]
    points = scatter_points(axes)
    valid = np.isfinite(arrays['maxFrameShift_A'])
    assert len(points['accepted']) == np.sum(valid & arrays['accepted'])
    assert len(points['discarded']) == np.sum(valid & ~arrays['accepted'])
    region = next(patch for patch in axes.patches if patch.get_gid() == plots.GID_REGION)
    path = region.get_path().transformed(region.get_patch_transform())
    assert all(path.contains_points(points['discarded']))
    assert not any(path.contains_points(points['accepted']))
    labels = legend_texts(axes)
    assert 'accepted (%d)' % len(points['accepted']) in labels
    assert 'invalid alignment (2), not plotted' in labels


def test_extreme_values_go_to_the_last_bin_and_the_scatter_edge_without_being_lost():
    rows = [table.row(i, 'm%d' % i, 1.0 + 0.01 * i, 20.0 + 0.1 * i, True)
            for i in range(1, 101)]
    rows.append(table.row(101, 'far', 800.0, 3000.0, False, 'moved'))
    arrays = table.as_arrays(rows)
    figure = plots.summary_figure(arrays, motion.REJ_OR, *LIMITS)
    found = axes_by_gid(figure)
    frameAxes = found[plots.GID_FRAME_HISTOGRAM]
    assert frameAxes.get_xlim()[1] < 100  # the bulk is not squashed
    assert bar_counts(frameAxes) == {'accepted': 100, 'discarded': 1}
    assert frameAxes.containers[1].patches[-1].get_height() == 1
    assert any(text.startswith('1 above') for text in legend_texts(frameAxes))
    scatter = found[plots.GID_SCATTER]
    (x, y), = scatter_points(scatter)['discarded']
    assert (x, y) == (scatter.get_xlim()[1], scatter.get_ylim()[1])


def test_an_empty_table_gives_a_figure_saying_no_movies_yet(tmp_path):
    arrays = table.as_arrays([])
    for build in (plots.histograms_figure, plots.scatter_figure, plots.summary_figure):
        figure = build(arrays, motion.REJ_OR, *LIMITS)
        assert isinstance(figure, Figure)
        assert any(plots.NO_MOVIES in text.lower() for text in all_texts(figure))
    path = str(tmp_path / 'empty.png')
    plots.save_summary_png(path, arrays, motion.REJ_OR, *LIMITS)
    assert_valid_png(path, plots.SUMMARY_SIZE, plots.SUMMARY_DPI)


def test_summary_png_replaces_the_previous_one_atomically(tmp_path):
    path = str(tmp_path / 'motion_summary.png')
    with open(path, 'wb') as old:
        old.write(b'old')
    plots.save_summary_png(path, designed_arrays(motion.REJ_AND), motion.REJ_AND, *LIMITS)
    assert_valid_png(path, plots.SUMMARY_SIZE, plots.SUMMARY_DPI)
    assert os.listdir(str(tmp_path)) == ['motion_summary.png']


def test_summary_of_20000_movies_is_written(tmp_path):  # timed by ./dev bench
    rng = np.random.default_rng(0)
    n = 20000
    frame = rng.gamma(2.0, 1.5, n)
    travel = frame + rng.gamma(5.0, 5.0, n)
    arrays = {'id': np.arange(1, n + 1), 'micName': ['m%d' % i for i in range(n)],
              'maxFrameShift_A': frame, 'totalTravel_A': travel,
              'accepted': ~motion.rejected_by_rule(frame, travel, motion.REJ_OR, *LIMITS),
              'reason': [''] * n}
    path = str(tmp_path / 'big.png')
    plots.save_summary_png(path, arrays, motion.REJ_OR, *LIMITS)
    assert_valid_png(path, plots.SUMMARY_SIZE, plots.SUMMARY_DPI)


def test_trajectory_is_drawn_in_angstrom_from_frame_one_with_frames_numbered():
    rate = 1.5
    x = [3.0, 4.0, 4.0, 10.0, 10.5] + [10.5 + 0.1 * i for i in range(1, 16)]
    y = [-1.0, -1.0, 0.0, 0.0, 0.5] + [0.5] * 15
    figure = plots.trajectories_figure([plots.Trajectory('movie_7.mrc (id 7)', rate, x, y, False)])
    axes, = figure.axes
    path = axes.get_lines()[0]
    assert np.allclose(path.get_xdata(), (np.array(x) - x[0]) * rate)
    assert np.allclose(path.get_ydata(), (np.array(y) - y[0]) * rate)
    measured = motion.measure_motion(x, y, rate)
    title = axes.get_title()
    assert 'movie_7.mrc (id 7)' in title and 'discarded' in title
    assert '%.2f A' % measured.max_frame_shift in title
    assert '%.2f A' % measured.total_travel in title
    largest = next(line for line in axes.get_lines()
                   if line.get_label().startswith('largest step'))
    assert largest.get_label() == 'largest step, frames 3-4'
    numbers = [int(text.get_text()) for text in axes.texts]
    assert numbers == plots.annotated_frames(len(x))
    assert numbers[0] == 1 and numbers[-1] == len(x)


def legend_labels(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


def test_trajectory_frames_are_numbered_as_the_movies_aligned_frames():
    x = [0.0, 1.0, 1.0, 5.0, 5.5, 6.0]  # largest step: the 3rd to the 4th shift
    figure = plots.trajectories_figure([plots.Trajectory('m', 1.0, x, [0.0] * 6,
                                                         True, (3, 8))])
    axes, = figure.axes
    assert legend_labels(axes) == ['frame 3', 'frame 8', 'largest step, frames 5-6']
    assert [int(text.get_text()) for text in axes.texts] == \
        [frame + 2 for frame in plots.annotated_frames(6)]
    assert 'frame numbers unknown' not in axes.get_title()


def test_trajectory_whose_frame_range_disagrees_numbers_the_shifts():
    x = [0.0, 1.0, 1.0, 5.0, 5.5, 6.0]
    figure = plots.trajectories_figure([plots.Trajectory('m', 1.0, x, [0.0] * 6,
                                                         True, (3, 40))])
    axes, = figure.axes
    assert legend_labels(axes) == ['shift 1', 'shift 6', 'largest step, shifts 3-4']
    assert axes.get_title().endswith('frame numbers unknown: aligned frames 3-40 are '
                                     '38 frames but there are 6 shifts')


def test_unusable_trajectories_are_reported_not_drawn():
    figure = plots.trajectories_figure([
        plots.Trajectory('mismatched', 1.0, [0, 1, 2], [0, 1]),
        plots.Trajectory('no rate', 0.0, [0, 1], [0, 1]),
        plots.Trajectory('has nan', 1.0, [0, float('nan'), 2], [0, 0, 0])])
    titles = [axes.get_title() for axes in figure.axes]
    assert 'invalid alignment: x has 3 shifts but y has 2' in titles[0]
    assert 'sampling rate 0.0 is not a positive number' in titles[1]
    assert [t.get_text() for t in figure.axes[0].texts] == ['nothing to draw']
    assert '1 of 3 frames have NaN' in titles[2]
    assert not any(line.get_label().startswith('largest') for line in figure.axes[2].get_lines())


def test_default_trajectories_are_the_most_travelled_discarded_and_a_typical_accepted():
    travels = {1: 20.0, 2: 80.0, 3: 21.0, 4: 300.0, 5: 60.0, 6: 55.0, 7: 25.0, 8: None}
    rows = [table.row(i, 'm%d' % i, None if t is None else 1.0,
                      t, t is not None and t <= 45)
            for i, t in travels.items()]
    arrays = table.as_arrays(rows)
    assert plots.default_trajectory_ids(arrays) == [4, 2, 5, 3]
    assert plots.default_trajectory_ids(table.as_arrays(rows[:1])) == [1]
    assert plots.default_trajectory_ids(table.as_arrays([])) == []


def test_movies_are_found_by_id_or_micname_in_the_order_given():
    arrays = table.as_arrays([table.row(i, 'mic_%d.mrc' % i, 1.0, 2.0, True)
                              for i in (3, 5, 9)])
    assert plots.find_movies(arrays, '9, mic_3.mrc  5 nope 9 42') == ([9, 3, 5], ['nope', '42'])
    assert plots.find_movies(arrays, '') == ([], [])


def dose_arrays(n=200, noDose=(5, 6, 7), invalid=(3, 17), seed=2,
                early=6.0, late=15.0):
    """Designed rows with early/late motion around the given limits; some
    movies without dose information, some with an invalid alignment."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        earlyMotion = rng.uniform(0.1, 2.0 * early)
        lateMotion = rng.uniform(0.1, 2.0 * late)
        accepted = earlyMotion <= early and lateMotion <= late
        bad = index in invalid
        rows.append(table.row(
            index + 1, 'mic_%04d.mrc' % (index + 1),
            None if bad else earlyMotion / 3, None if bad else earlyMotion + lateMotion,
            accepted and not bad, '' if accepted else 'moved',
            earlyMotion_A=None if bad or index in noDose else earlyMotion,
            lateMotion_A=None if bad or index in noDose else lateMotion,
            firstThirdMeanStep_A=None if bad else earlyMotion / 4))
    return table.as_arrays(rows)


def fed_auto(frame, travel, warmup=20, k=auto_threshold.DEFAULT_K):
    """AutoThresholds that have seen these movies in order."""
    auto = auto_threshold.AutoThresholds(warmup=warmup, k=k)
    for key, metrics in enumerate(zip(frame, travel)):
        auto.add(key, dict(zip(auto_threshold.DEFAULT_METRICS, metrics)))
    return auto


def test_dose_histograms_bin_movies_with_dose_and_draw_the_early_and_late_limits():
    arrays = dose_arrays()
    accepted = arrays['accepted']
    figure = plots.dose_histograms_figure(arrays, 6.0, 15.0, doseCutoff=4.0)
    found = axes_by_gid(figure)
    for gid, column, limit in ((plots.GID_EARLY_HISTOGRAM, 'earlyMotion_A', 6.0),
                               (plots.GID_LATE_HISTOGRAM, 'lateMotion_A', 15.0),
                               (plots.GID_FIRST_THIRD_HISTOGRAM,
                                'firstThirdMeanStep_A', None)):
        valid = np.isfinite(arrays[column])
        axes = found[gid]
        assert bar_counts(axes) == {'accepted': np.sum(valid & accepted),
                                    'discarded': np.sum(valid & ~accepted)}
        assert lines_of(axes, plots.GID_LIMIT) == ({} if limit is None else
                                                   {'limit %g A' % limit: limit})
        assert not lines_of(axes, plots.GID_AUTO)
        assert 'invalid alignment (2), not plotted' in legend_texts(axes)
    for gid in (plots.GID_EARLY_HISTOGRAM, plots.GID_LATE_HISTOGRAM):
        assert 'no dose information (3), not plotted' in legend_texts(found[gid])
    title = figure._suptitle.get_text()
    assert '200 movies (195 with dose information)' in title
    assert 'max early motion 6 A; max late motion 15 A; early until 4 e/A2' in title


def test_without_dose_information_early_and_late_say_so_and_the_summary_keeps_one_row(
        tmp_path):
    arrays = dose_arrays()
    arrays['earlyMotion_A'][:] = arrays['lateMotion_A'][:] = np.nan
    figure = plots.dose_histograms_figure(arrays, 6.0)
    found = axes_by_gid(figure)
    for gid in (plots.GID_EARLY_HISTOGRAM, plots.GID_LATE_HISTOGRAM):
        assert not found[gid].containers
        assert [t.get_text().split('\n')[0] for t in found[gid].texts] == [plots.NO_DOSE]
    assert '(limit 6 A not applied)' in found[plots.GID_EARLY_HISTOGRAM].texts[0].get_text()
    assert sum(bar_counts(found[plots.GID_FIRST_THIRD_HISTOGRAM]).values()) == 198
    assert not plots.has_dose_metrics(arrays)
    assert len(plots.summary_figure(arrays, motion.REJ_OR, *LIMITS, withDose=True).axes) == 3
    path = str(tmp_path / 'no_dose.png')
    plots.save_summary_png(path, arrays, motion.REJ_OR, *LIMITS, withDose=True)
    assert_valid_png(path, plots.SUMMARY_SIZE, plots.SUMMARY_DPI)


def test_summary_with_dose_adds_a_row_of_dose_histograms(tmp_path):
    arrays = dose_arrays()
    figure = plots.summary_figure(arrays, motion.REJ_OR, *LIMITS, withDose=True,
                                  earlyLimit=6.0)
    found = axes_by_gid(figure)
    assert set(found) == {plots.GID_FRAME_HISTOGRAM, plots.GID_TRAVEL_HISTOGRAM,
                          plots.GID_SCATTER, plots.GID_EARLY_HISTOGRAM,
                          plots.GID_LATE_HISTOGRAM, plots.GID_FIRST_THIRD_HISTOGRAM}
    assert lines_of(found[plots.GID_EARLY_HISTOGRAM], plots.GID_LIMIT) == {'limit 6 A': 6.0}
    assert not lines_of(found[plots.GID_LATE_HISTOGRAM], plots.GID_LIMIT)
    assert 'max early motion 6 A' in figure._suptitle.get_text()
    path = str(tmp_path / 'dose.png')
    plots.save_summary_png(path, arrays, motion.REJ_OR, *LIMITS, withDose=True)
    assert_valid_png(path, plots.SUMMARY_DOSE_SIZE, plots.SUMMARY_DPI)


def test_automatic_thresholds_in_force_are_drawn_on_histograms_and_scatter():
    arrays = designed_arrays(motion.REJ_OR)
    frame, travel = arrays['maxFrameShift_A'], arrays['totalTravel_A']
    auto = fed_auto(frame, travel, k=1.0)
    limits = auto.thresholds()
    assert None not in limits.values()
    figures = (plots.histograms_figure(arrays, motion.REJ_OR, *LIMITS, auto=auto),
               plots.scatter_figure(arrays, motion.REJ_OR, *LIMITS, auto=auto),
               plots.summary_figure(arrays, motion.REJ_OR, *LIMITS, auto=auto))
    for figure in figures:
        assert figure._suptitle.get_text().replace('\n', ' ').endswith(
            auto.describe()[0].upper() + auto.describe()[1:])
        found = axes_by_gid(figure)
        for gid, criterion in ((plots.GID_FRAME_HISTOGRAM, motion.CRITERION_FRAME),
                               (plots.GID_TRAVEL_HISTOGRAM, motion.CRITERION_MOVIE)):
            if gid in found:
                limit = limits[criterion]
                assert lines_of(found[gid], plots.GID_AUTO) == {
                    'automatic, %.2f A' % limit: limit}
                assert 'automatic, %.2f A' % limit in legend_texts(found[gid])
        if plots.GID_SCATTER in found:
            scatter = found[plots.GID_SCATTER]
            assert lines_of(scatter, plots.GID_AUTO) == {
                'max frame shift: automatic, %.2f A' % limits[motion.CRITERION_FRAME]:
                    limits[motion.CRITERION_FRAME],
                'total travel: automatic, %.2f A' % limits[motion.CRITERION_MOVIE]:
                    limits[motion.CRITERION_MOVIE]}
            assert sorted(lines_of(scatter, plots.GID_LIMIT).values()) == list(LIMITS)
            style = {line.get_linestyle() for line in scatter.get_lines()
                     if line.get_gid() == plots.GID_AUTO}
            assert style == {'-.'}


def test_during_the_warm_up_figures_say_there_are_no_automatic_thresholds_yet():
    arrays = designed_arrays(motion.REJ_OR)
    auto = fed_auto(arrays['maxFrameShift_A'][:5], arrays['totalTravel_A'][:5])
    assert auto.warming_up
    figure = plots.summary_figure(arrays, motion.REJ_OR, *LIMITS, auto=auto)
    assert figure._suptitle.get_text().split('\n')[1] == (
        'Automatic thresholds: warm-up, 5 of 20 movies pending (no thresholds yet)')
    for axes in figure.axes:
        assert not lines_of(axes, plots.GID_AUTO)
        assert 'automatic: none yet (warm-up)' in legend_texts(axes)
    empty = plots.histograms_figure(table.as_arrays([]), motion.REJ_OR, *LIMITS, auto=auto)
    assert 'no thresholds yet' in empty._suptitle.get_text()


def test_a_limit_far_beyond_the_movies_is_listed_without_squashing_them():
    arrays = designed_arrays(motion.REJ_OR)
    found = axes_by_gid(plots.summary_figure(arrays, motion.REJ_OR, 1000.0, 10000.0))
    frameAxes = found[plots.GID_FRAME_HISTOGRAM]
    assert frameAxes.get_xlim()[1] < 100
    assert 'limit 1000 A (off the axis)' in legend_texts(frameAxes)
    scatter = found[plots.GID_SCATTER]
    assert scatter.get_xlim()[1] < 100 and scatter.get_ylim()[1] < 300
    region = next(patch for patch in scatter.patches if patch.get_gid() == plots.GID_REGION)
    path = region.get_path().transformed(region.get_patch_transform())
    assert not any(path.contains_points(scatter_points(scatter)['accepted']))


# -------------------------- A real run ---------------------------------------
def test_summary_while_streaming_and_after_matches_the_output_sets(project, tmp_path):
    from xmipp3.viewers.viewer_movie_max_shift import XmippMovieMaxShiftViewer
    movies = 60
    sim = launch(project, new_simulation(
        project, source=1, numberOfMovies=movies, batchSize=10,
        batchInterval=1.0, outlierFraction=0.2, seed=11))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, rejType=motion.REJ_OR,
                                            pollInterval=0.5))
    csvPath = os.path.join(project.path, maxshift.getMotionTablePath())
    rule = (motion.REJ_OR,) + LIMITS
    viewer = XmippMovieMaxShiftViewer(project=project, protocol=maxshift)
    viewer.setProtocol(maxshift)
    snapshots = []
    while refresh(project, maxshift).isActive():
        if os.path.exists(csvPath):
            arrays = table.as_arrays(table.read_table(csvPath))
            if 0 < len(arrays['id']) < movies:
                path = str(tmp_path / ('streaming_%d.png' % len(snapshots)))
                plots.save_summary_png(path, arrays, *rule)
                assert_valid_png(path, plots.SUMMARY_SIZE, plots.SUMMARY_DPI)
                counts = bar_counts(axes_by_gid(plots.summary_figure(arrays, *rule))
                                    [plots.GID_TRAVEL_HISTOGRAM])
                assert counts == {'accepted': arrays['accepted'].sum(),
                                  'discarded': (~arrays['accepted']).sum()}
                written = sum(len(output_items(maxshift, name))
                              for name in (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED))
                assert written >= len(arrays['id'])  # outputs are committed first
                snapshots.append(len(arrays['id']))
                binned = bar_counts(axes_by_gid(viewer._histogramFigure())
                                    [plots.GID_FRAME_HISTOGRAM])
                assert len(arrays['id']) <= sum(binned.values()) <= movies
        time.sleep(0.4)
    wait_until_done(project, maxshift)
    wait_until_done(project, sim)
    assert snapshots, 'no figure was made while the run was streaming'

    accepted = len(output_items(maxshift, OUTPUT_MOVIES))
    discarded = len(output_items(maxshift, OUTPUT_MOVIES_DISCARDED))
    assert accepted + discarded == movies and discarded > 0
    path = str(tmp_path / 'final.png')
    arrays = table.as_arrays(table.read_table(csvPath))
    plots.save_summary_png(path, arrays, *rule)
    assert_valid_png(path, plots.SUMMARY_SIZE, plots.SUMMARY_DPI)
    found = axes_by_gid(plots.summary_figure(arrays, *rule))
    for gid in (plots.GID_FRAME_HISTOGRAM, plots.GID_TRAVEL_HISTOGRAM):
        assert bar_counts(found[gid]) == {'accepted': accepted, 'discarded': discarded}
    points = scatter_points(found[plots.GID_SCATTER])
    assert (len(points['accepted']), len(points['discarded'])) == (accepted, discarded)

    assert bar_counts(axes_by_gid(viewer._histogramFigure())[plots.GID_FRAME_HISTOGRAM]) \
        == {'accepted': accepted, 'discarded': discarded}
