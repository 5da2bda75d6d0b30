"""Figures of movie maxshift, built without a display: on designed tables,
and on the table of a real run, while it streams and once it has finished."""
import os
import time

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle
from matplotlib.text import Text

from xmipp3.maxshift import auto_threshold, motion, plots, table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                          refresh, wait_for_output, wait_until_done)
from xmipp3.maxshift.names import OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED

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
    """Decision -> plotted (x, y) points, those beyond the axes included
    (drawn at the edge)."""
    points = {}
    for collection in axes.collections:
        decision = (collection.get_gid() or '').replace('-beyond', '')
        if decision in ('accepted', 'discarded'):
            points[decision] = np.concatenate([
                points.get(decision, np.empty((0, 2))),
                np.asarray(collection.get_offsets(), dtype=float).reshape(-1, 2)])
    return points


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


def movie_labels(axes):
    """Texts of the labels naming movies on a scatter plot."""
    return [text.get_text() for text in axes.texts if text.get_gid() == 'movie-label']


def frame_labels(axes):
    """The frame-number labels of a trajectory."""
    return [text for text in axes.texts if text.get_gid() == 'frames']


def frames_in(label):
    """'1-3, 5' -> [1, 2, 3, 5]"""
    frames = []
    for part in label.split(', '):
        first, _, last = part.partition('-')
        frames += range(int(first), int(last or first) + 1)
    return frames


def marker_shape(collection):
    """The vertices of a scatter collection's marker, rounded."""
    return tuple(map(tuple, np.round(collection.get_paths()[0].vertices, 6)))


def shape_of(style):
    """marker_shape() of a marker style or symbol."""
    style = style if isinstance(style, MarkerStyle) else MarkerStyle(style)
    path = style.get_path().transformed(style.get_transform())
    return tuple(map(tuple, np.round(path.vertices, 6)))


def drawn(figure):
    """The figure laid out and drawn as in a PNG (labels placed); its
    renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def overlap(box, other):
    return (max(0.0, min(box.x1, other.x1) - max(box.x0, other.x0))
            * max(0.0, min(box.y1, other.y1) - max(box.y0, other.y0)))


def text_box(text, renderer):
    """Extent of a text (without an annotation's leader line)."""
    return Text.get_window_extent(text, renderer)


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
    for gid, limit, used in (
            (plots.GID_FRAME_HISTOGRAM, LIMITS[0], motion.uses_frame_limit(rule)),
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
    (x0, x1), (y0, y1) = scatter.get_xlim(), scatter.get_ylim()
    assert x1 - 0.05 * (x1 - x0) < x < x1 and y1 - 0.05 * (y1 - y0) < y < y1
    beyond, = [c for c in scatter.collections if c.get_gid() == 'discarded-beyond']
    assert marker_shape(beyond) == shape_of(plots.BEYOND_CORNER)
    assert movie_labels(scatter) == ['id 101: 800 Å, 3000 Å']


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
    assert '%.2f Å' % measured.max_frame_shift in title
    assert '%.2f Å' % measured.total_travel in title
    largest = next(line for line in axes.get_lines()
                   if line.get_label().startswith('largest step'))
    assert largest.get_label() == 'largest step, frames 3-4'
    numbers = [int(text.get_text()) for text in frame_labels(axes)]
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
    # the 2nd and 3rd shifts are at one place: one label, '4, 5'
    assert sorted(frame for text in frame_labels(axes)
                  for frame in frames_in(text.get_text())) == \
        [frame + 2 for frame in plots.annotated_frames(6)]
    assert '4, 5' in [text.get_text() for text in frame_labels(axes)]
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
                                                   {'limit %g Å' % limit: limit})
        assert not lines_of(axes, plots.GID_AUTO)
        assert 'invalid alignment (2), not plotted' in legend_texts(axes)
    for gid in (plots.GID_EARLY_HISTOGRAM, plots.GID_LATE_HISTOGRAM):
        assert 'no dose information (3), not plotted' in legend_texts(found[gid])
    title = figure._suptitle.get_text()
    assert '200 movies (195 with dose information)' in title
    assert 'max early motion 6 Å; max late motion 15 Å; early until 4 e/Å²' in title


def test_without_dose_information_early_and_late_say_so_and_the_summary_keeps_one_row(
        tmp_path):
    arrays = dose_arrays()
    arrays['earlyMotion_A'][:] = arrays['lateMotion_A'][:] = np.nan
    figure = plots.dose_histograms_figure(arrays, 6.0)
    found = axes_by_gid(figure)
    for gid in (plots.GID_EARLY_HISTOGRAM, plots.GID_LATE_HISTOGRAM):
        assert not found[gid].containers
        assert [t.get_text().split('\n')[0] for t in found[gid].texts] == [plots.NO_DOSE]
    assert '(limit 6 Å not applied)' in found[plots.GID_EARLY_HISTOGRAM].texts[0].get_text()
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
    assert lines_of(found[plots.GID_EARLY_HISTOGRAM], plots.GID_LIMIT) == {'limit 6 Å': 6.0}
    assert not lines_of(found[plots.GID_LATE_HISTOGRAM], plots.GID_LIMIT)
    assert 'max early motion 6 Å' in figure._suptitle.get_text()
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
                    'automatic, %.2f Å' % limit: limit}
                assert 'automatic, %.2f Å' % limit in legend_texts(found[gid])
        if plots.GID_SCATTER in found:
            scatter = found[plots.GID_SCATTER]
            assert lines_of(scatter, plots.GID_AUTO) == {
                'max frame shift: automatic, %.2f Å' % limits[motion.CRITERION_FRAME]:
                    limits[motion.CRITERION_FRAME],
                'total travel: automatic, %.2f Å' % limits[motion.CRITERION_MOVIE]:
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
    assert 'limit 1000 Å (off the axis)' in legend_texts(frameAxes)
    scatter = found[plots.GID_SCATTER]
    assert scatter.get_xlim()[1] < 100 and scatter.get_ylim()[1] < 300
    region = next(patch for patch in scatter.patches if patch.get_gid() == plots.GID_REGION)
    path = region.get_path().transformed(region.get_patch_transform())
    assert not any(path.contains_points(scatter_points(scatter)['accepted']))


# -------------------------- What a reader sees (issue 14) -------------------
# Movies of the demo that matter on its plots: its two failed alignments,
# two movies with the same values and the most-moving accepted one.
DEMO_MOVIES = {89: (755.17, 2422.0), 129: (12.77, 64.88), 5: (1.7, 21.4),
               29: (1.7, 21.4), 126: (4.3, 26.7)}
# Movie 89's real shifts (px, 0.675 Å/px): frames 1, 2, 3, 5, 7 and 8 at
# one place, a jump out to frame 4 and back, and one to frame 6 and back.
TS_01_039 = plots.Trajectory(
    '000089_TS_01_039_-60_0.mrc (id 89)', 0.675,
    [0.0, 0.0, 0.0, 931.316872, 0.0, 11.450617, 0.0, 0.0],
    [0.0, 0.0, 0.0, 619.927791, 0.0, 675.202479, 0.0, 0.0], False)


def demo_like_arrays(rule=motion.REJ_OR, frameLimit=10.0, movieLimit=45.0,
                     far=()):
    """266 movies spread like the demo's (261 calm ones and DEMO_MOVIES),
    plus the `far` (frame, travel) pairs, decided by the rule."""
    rng = np.random.default_rng(3)
    frame = rng.gamma(2.0, 0.5, 261)
    values = dict(zip(range(1001, 1262), zip(frame, frame + rng.gamma(2.0, 3.0, 261))))
    values.update(DEMO_MOVIES)
    values.update({2001 + index: pair for index, pair in enumerate(far)})
    rows = []
    for movieId, (frameShift, travel) in values.items():
        rejected = motion.rejected_by_rule(frameShift, travel, rule, frameLimit, movieLimit)
        rows.append(table.row(movieId, 'mic_%d.mrc' % movieId, frameShift, travel,
                              not rejected, 'moved' if rejected else ''))
    return table.as_arrays(rows)


def named_ids(labels):
    """Movie ids named by the scatter plot's labels."""
    import re
    named = []
    for label in labels:
        for line in label.split('\n'):
            match = re.match(r'ids? ([\d, ]+)', line)
            if match:
                named += [int(word) for word in match.group(1).replace(',', ' ').split()]
    return named


def discarded_markers(axes, renderer):
    """Display position and radius (px) of each discarded movie's marker."""
    markers = []
    for collection in axes.collections:
        if collection.get_gid() in ('discarded', 'discarded-beyond'):
            radius = renderer.points_to_pixels(np.sqrt(collection.get_sizes()[0]) / 2)
            for point in axes.transData.transform(collection.get_offsets()):
                markers.append((point, radius))
    return markers


@pytest.mark.parametrize('rule, limits, far', [
    (motion.REJ_OR, (10.0, 45.0), ()),
    (motion.REJ_MOVIE, (10.0, 20.0), ()),
    (motion.REJ_FRAME, (10.0, 45.0), ()),
    (motion.REJ_AND, (10.0, 45.0), ((900.0, 30.0), (8.0, 5000.0), (3000.0, 9000.0))),
    (motion.REJ_OR, (10.0, 45.0), tuple((20.0 + 7 * i, 100.0 + 50 * i) for i in range(40)))],
    ids=['demo', 'by-whole-movie-20', 'by-frame', 'far-on-each-side', 'forty-far'])
def test_every_discarded_movie_has_a_visible_marker_inside_the_axes_and_a_name(
        rule, limits, far):
    arrays = demo_like_arrays(rule, *limits, far=far)
    figure = plots.scatter_figure(arrays, rule, *limits)
    renderer = drawn(figure)
    axes = axes_by_gid(figure)[plots.GID_SCATTER]
    frame = axes.get_window_extent(renderer)
    discarded = np.asarray(arrays['id'])[~arrays['accepted']]
    markers = discarded_markers(axes, renderer)
    assert len(markers) == len(discarded)
    for (x, y), radius in markers:  # whole, inside the axes
        assert frame.x0 < x - radius and x + radius < frame.x1
        assert frame.y0 < y - radius and y + radius < frame.y1
    labels = [text for text in axes.texts if text.get_gid() == 'movie-label']
    names = named_ids([label.get_text() for label in labels])
    assert len(names) == len(set(names))
    if len(discarded) <= plots.SCATTER_LABELS:
        assert sorted(names) == sorted(discarded)  # each one named
    else:  # the farthest named
        assert len(labels) == plots.SCATTER_LABELS
        travel = dict(zip(arrays['id'], arrays['totalTravel_A']))
        assert min(travel[i] for i in names) >= sorted(
            travel[i] for i in discarded)[-len(names)]
    boxes = [text_box(label, renderer) for label in labels]
    for index, box in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert all(overlap(box, other) == 0 for other in boxes[index + 1:])
    assert 'discarded (%d)' % len(discarded) in legend_texts(axes)


def test_movies_beyond_the_axes_are_triangles_pointing_out_and_give_their_values():
    arrays = demo_like_arrays(far=((900.0, 30.0), (8.0, 5000.0)))
    axes = axes_by_gid(plots.scatter_figure(arrays, motion.REJ_OR, *LIMITS))[
        plots.GID_SCATTER]
    (x0, x1), (y0, y1) = axes.get_xlim(), axes.get_ylim()
    inset = plots.BEYOND_INSET
    markers = {}
    for collection in axes.collections:
        if collection.get_gid() == 'discarded-beyond':
            for x, y in collection.get_offsets():
                markers[(round(x, 6), round(y, 6))] = marker_shape(collection)
    xEdge, yEdge = round(x1 - inset * (x1 - x0), 6), round(y1 - inset * (y1 - y0), 6)
    assert markers == {(xEdge, 30.0): shape_of('>'), (8.0, yEdge): shape_of('^'),
                       (xEdge, yEdge): shape_of(plots.BEYOND_CORNER)}  # and 89
    labels = movie_labels(axes)
    for text in ('id 2001: 900 Å, 30.0 Å', 'id 2002: 8.00 Å, 5000 Å',
                 'id 89: 755 Å, 2422 Å', 'id 129'):
        assert text in labels
    assert 'beyond the axes (3): at the edge, pointing out' in legend_texts(axes)


def test_near_outliers_widen_the_axes_and_far_ones_do_not():
    arrays = demo_like_arrays()
    found = axes_by_gid(plots.summary_figure(arrays, motion.REJ_OR, *LIMITS))
    scatter = found[plots.GID_SCATTER]
    assert 12.77 < scatter.get_xlim()[1] < 20 and 64.88 < scatter.get_ylim()[1] < 100
    frameAxes = found[plots.GID_FRAME_HISTOGRAM]
    assert '1 above %.3g Å, in the last bin' % frameAxes.get_xlim()[1] \
        in legend_texts(frameAxes)  # 755 Å; 12.77 Å has its own bar


@pytest.mark.parametrize('build', ['histograms', 'summary', 'dose'])
def test_histograms_leave_room_above_the_tallest_bar(build):
    arrays = dose_arrays() if build == 'dose' else demo_like_arrays()
    figure = {'histograms': lambda: plots.histograms_figure(arrays, motion.REJ_OR, *LIMITS),
              'summary': lambda: plots.summary_figure(arrays, motion.REJ_OR, *LIMITS),
              'dose': lambda: plots.dose_histograms_figure(arrays, 6.0, 15.0)}[build]()
    histograms = [axes for axes in figure.axes if axes.containers]
    assert len(histograms) >= 2
    for axes in histograms:
        tallest = max(bar.get_y() + bar.get_height()
                      for container in axes.containers for bar in container.patches)
        assert axes.get_ylim()[1] >= 1.1 * tallest, axes.get_gid()


def test_legends_are_under_their_axes_where_no_line_or_bar_crosses_them():
    arrays = demo_like_arrays()
    figures = [plots.summary_figure(arrays, motion.REJ_OR, *LIMITS, withDose=True),
               plots.histograms_figure(arrays, motion.REJ_AND, *LIMITS),
               plots.scatter_figure(arrays, motion.REJ_OR, *LIMITS),
               plots.trajectories_figure([TS_01_039, TS_01_039._replace(accepted=True)])]
    checked = 0
    for figure in figures:
        renderer = drawn(figure)
        for axes in figure.axes:
            legend = axes.get_legend()
            if legend is None:
                continue
            box = legend.get_window_extent(renderer)
            assert overlap(box, axes.get_window_extent(renderer)) == 0, axes.get_gid()
            assert overlap(box, axes.xaxis.label.get_window_extent(renderer)) == 0
            assert all(overlap(box, other.get_window_extent(renderer)) == 0
                       for other in figure.axes if other is not axes)
            checked += 1
    assert checked == 3 + 2 + 1 + 2


def test_trajectory_labels_frames_at_one_place_once_and_never_overlap():
    figure = plots.trajectories_figure([TS_01_039])
    renderer = drawn(figure)
    axes, = figure.axes
    labels = frame_labels(axes)
    assert sorted(label.get_text() for label in labels) == ['1-3, 5, 7, 8', '4', '6']
    frame = axes.get_window_extent(renderer)
    boxes = [text_box(label, renderer) for label in labels]
    boxes.append(axes.get_legend().get_window_extent(renderer))
    for index, box in enumerate(boxes[:-1]):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert all(overlap(box, other) == 0 for other in boxes[index + 1:])


def test_trajectory_labels_of_a_long_movie_do_not_overlap():
    rng = np.random.default_rng(4)
    steps = rng.normal(0, 1.0, (40, 2))
    steps[17] = (25.0, 3.0)  # a jump
    x, y = np.cumsum(steps, axis=0).T
    figure = plots.trajectories_figure([plots.Trajectory('walk', 1.0, x, y, True)])
    renderer = drawn(figure)
    axes, = figure.axes
    labels = frame_labels(axes)
    assert sorted(f for label in labels for f in frames_in(label.get_text())) \
        == plots.annotated_frames(40)
    boxes = [text_box(label, renderer) for label in labels]
    for index, box in enumerate(boxes):
        assert all(overlap(box, other) == 0 for other in boxes[index + 1:])


def test_a_step_back_over_the_largest_step_stays_visible():
    axes, = plots.trajectories_figure([TS_01_039]).axes
    path = axes.get_lines()[0]
    largest = next(line for line in axes.get_lines()
                   if line.get_label().startswith('largest step'))
    assert largest.get_label() == 'largest step, frames 3-4'
    assert largest.get_zorder() < path.get_zorder() and largest.get_alpha() < 1
    # arrowheads out along the jump and back along the return, apart
    x, y = path.get_xdata(), path.get_ydata()
    jump = np.array([x[3] - x[2], y[3] - y[2]])
    heads = {}
    for arrow in axes.texts:
        if arrow.get_gid() == 'step-arrow':
            direction = np.asarray(arrow.xy) - np.asarray(arrow.xyann)
            cosine = direction @ jump / np.linalg.norm(direction) / np.linalg.norm(jump)
            if abs(abs(cosine) - 1) < 1e-6:
                heads[np.sign(cosine)] = np.asarray(arrow.xy)
    assert set(heads) == {1.0, -1.0}
    assert np.linalg.norm(heads[1.0] - heads[-1.0]) > 0.05 * np.linalg.norm(jump)


def test_in_a_window_the_movie_under_the_pointer_is_named_with_its_values():
    from matplotlib.backend_bases import MouseEvent
    figure = plots.add_hover(plots.scatter_figure(demo_like_arrays(), motion.REJ_OR,
                                                  *LIMITS))
    drawn(figure)
    axes = axes_by_gid(figure)[plots.GID_SCATTER]

    def hover(x, y):
        """Move the pointer to (x, y), data; the hover text shown, or None."""
        px, py = axes.transData.transform((x, y))
        figure.canvas.callbacks.process('motion_notify_event', MouseEvent(
            'motion_notify_event', figure.canvas, px, py))
        tips = [text for text in axes.texts if text.get_gid() == plots.GID_HOVER]
        return tips[0].get_text() if tips and tips[0].get_visible() else None
    assert hover(12.77, 64.88) == 'id 129: 12.8 Å, 64.9 Å (discarded)'
    corner = next(c for c in axes.collections if c.get_gid() == 'discarded-beyond')
    assert hover(*corner.get_offsets()[0]) == 'id 89: 755 Å, 2422 Å (discarded)'
    assert hover(4.3, 26.7) == 'id 126: 4.30 Å, 26.7 Å (accepted)'
    assert hover(8.0, 35.0) is None  # nothing there


TITLES = ['266 movies: 264 accepted, 2 discarded; rule by frame or movie '
          '(max frame shift 10 Å, max movie shift 45 Å)',
          '20000 movies: 19873 accepted, 127 discarded (3 invalid alignment); rule '
          'by frame and movie (max frame shift 10 Å, max movie shift 45 Å); max early '
          'motion 4 Å, max late motion 20 Å\nAutomatic thresholds (median + 6 sigma '
          'of 19000 accepted movies): max frame shift 3.12 Å, total travel 41.50 Å']


@pytest.mark.parametrize('title', TITLES)
def test_titles_wrap_only_between_phrases(title):
    import re
    for paragraph in title.split('\n'):
        wrapped = plots._narrow(paragraph)
        assert wrapped.replace('\n', ' ') == paragraph
        for before, after in re.findall(r'(.)\n(.)', wrapped):
            assert before in ';,:' or after == '(', (before, after)
        assert all(len(line) <= plots.SCATTER_TITLE_WIDTH
                   for line in wrapped.split('\n'))


def test_scatter_title_of_the_demo_keeps_its_phrases_and_fits():
    figure = plots.scatter_figure(demo_like_arrays(), motion.REJ_OR, *LIMITS)
    assert figure._suptitle.get_text().split('\n') == [
        '266 movies: 264 accepted, 2 discarded; rule by frame or movie',
        '(max frame shift 10 Å, max movie shift 45 Å)']
    renderer = drawn(figure)
    assert figure._suptitle.get_window_extent(renderer).width < figure.bbox.width


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
