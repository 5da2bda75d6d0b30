"""The viewer and the summary plot of real headless runs with dose
information, without it, and with automatic thresholds: histogram counts
equal the output sets, limits and automatic thresholds are drawn where the
protocol has them."""
import json
import os

import numpy as np

from maxshift_checks import along_x, assert_split_consistent, run_static
from test_plots import (assert_valid_png, axes_by_gid, bar_counts, legend_texts,
                        lines_of, scatter_points)
from test_viewer import metadata_viewer_columns, movies_of, viewer_of
from xmipp3.maxshift import auto_threshold, motion, plots, table
from xmipp3.maxshift.batch import launch, new_maxshift, new_simulation
from xmipp3.protocols import XmippProtMovieMaxShift
from xmipp3.maxshift.names import (
    ATTR_EARLY_MOTION, ATTR_FIRST_THIRD_STEP, ATTR_LATE_MOTION, AUTO_STATE_FILE)
from xmipp3.viewers.viewer_movie_max_shift import HISTOGRAMS_DOSE

DOSE_GIDS = (plots.GID_EARLY_HISTOGRAM, plots.GID_LATE_HISTOGRAM,
             plots.GID_FIRST_THIRD_HISTOGRAM)
TRAJECTORIES = [along_x('early_mover', [5, 5, 5, 1, 1, 1]),     # early 15, late 3
                along_x('late_drifter', [1, 1, 1, 4, 4, 4, 4]),  # early 3, late 16
                along_x('calm', [1, 1, 1, 1, 1]),               # early 3, late 2
                along_x('calm_too', [0.5, 1, 0.5, 1, 0.5])]


def title_of(figure):
    """The figure's title on one line."""
    return figure._suptitle.get_text().replace('\n', ' ')


def bar_heights(container):
    return [int(bar.get_height()) for bar in container.patches]


def binned(container, values):
    """values (A) binned on the bars' edges, the last bin taking the rest."""
    edges = [bar.get_x() for bar in container.patches]
    edges.append(edges[-1] + container.patches[-1].get_width())
    return np.histogram(np.clip(values, 0, edges[-1]), edges)[0].tolist()


def dose_histograms(viewer):
    """The figure the histograms button shows with the dose choice."""
    viewer.histogramMetrics.set(HISTOGRAMS_DOSE)
    plotter, = viewer._getVisualizeDict()['displayHistograms']('displayHistograms')
    return axes_by_gid(plotter.getFigure())


def test_dose_histograms_of_a_run_count_its_outputs_and_draw_its_limits(
        project, tmp_json, tmp_path):
    sim, maxshift = run_static(project, tmp_json, TRAJECTORIES,
                               simParams={'dosePerFrame': 1.0},
                               maxFrameShift=100.0, maxMovieShift=1000.0,
                               maxEarlyMotion=10.0, maxLateMotion=12.0)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert accepted == {3, 4} and discarded == {1, 2}
    found = dose_histograms(viewer_of(project, maxshift))
    assert set(found) == set(DOSE_GIDS)
    for gid in DOSE_GIDS:
        assert bar_counts(found[gid]) == {'accepted': 2, 'discarded': 2}
    for gid, limit in ((plots.GID_EARLY_HISTOGRAM, 10.0),
                       (plots.GID_LATE_HISTOGRAM, 12.0)):
        assert lines_of(found[gid], plots.GID_LIMIT) == {'limit %g Å' % limit: limit}
    assert not found[plots.GID_FIRST_THIRD_HISTOGRAM].get_lines()
    movies = movies_of(maxshift)
    for gid, attribute in zip(DOSE_GIDS, (ATTR_EARLY_MOTION, ATTR_LATE_MOTION,
                                          ATTR_FIRST_THIRD_STEP)):
        for container, isAccepted in zip(found[gid].containers, (True, False)):
            values = [m.getAttributeValue(attribute) for m in movies.values()
                      if m.isEnabled() == isAccepted]
            assert bar_heights(container) == binned(container, values), gid

    arrays = table.as_arrays(table.read_table(maxshift.getMotionTablePath()))
    path = str(tmp_path / 'motion_summary.png')
    plots.save_summary_png(path, arrays, *viewer_of(project, maxshift)._rule(),
                           withDose=True, earlyLimit=10.0, lateLimit=12.0)
    assert_valid_png(path, plots.SUMMARY_DOSE_SIZE, plots.SUMMARY_DPI)
    view, = viewer_of(project, maxshift)._getVisualizeDict()['outputSet']('outputSet')
    columns = metadata_viewer_columns(view.command())
    assert all(columns[name] for name in (ATTR_EARLY_MOTION, ATTR_LATE_MOTION,
                                          ATTR_FIRST_THIRD_STEP))


def test_without_dose_information_the_viewer_says_so(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json, TRAJECTORIES,
                               simParams={'dosePerFrame': 0.0}, maxEarlyMotion=10.0)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    found = dose_histograms(viewer_of(project, maxshift))
    for gid in (plots.GID_EARLY_HISTOGRAM, plots.GID_LATE_HISTOGRAM):
        assert plots.NO_DOSE in found[gid].texts[0].get_text()
        assert not found[gid].containers
    assert bar_counts(found[plots.GID_FIRST_THIRD_HISTOGRAM]) == {
        'accepted': len(accepted), 'discarded': len(discarded)}


def test_automatic_thresholds_in_force_are_drawn_where_the_protocol_saved_them(project):
    sim = launch(project, new_simulation(project, source=1, numberOfMovies=80,
                                         outlierFraction=0.15, seed=3,
                                         batchSize=1000), wait=True)
    maxshift = launch(project, new_maxshift(
        project, sim, pollInterval=0.3, maxFrameShift=1000.0, maxMovieShift=10000.0,
        useAutoThresholds=True, autoWarmup=20), wait=True)
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert discarded
    with open(os.path.join(project.path, maxshift._getExtraPath(AUTO_STATE_FILE)),
              encoding='utf-8') as stateFile:
        auto = auto_threshold.AutoThresholds.from_dict(json.load(stateFile))
    limits = auto.thresholds()
    frameLimit, travelLimit = (limits[motion.CRITERION_FRAME],
                               limits[motion.CRITERION_MOVIE])
    assert not auto.warming_up and None not in (frameLimit, travelLimit)

    viewer = viewer_of(project, maxshift)
    views = viewer._getVisualizeDict()
    histograms, = views['displayHistograms']('displayHistograms')
    scatter, = views['displayScatter']('displayScatter')
    for figure in (histograms.getFigure(), scatter.getFigure()):
        assert auto.describe()[1:] in title_of(figure)
    found = axes_by_gid(histograms.getFigure())
    for gid, limit in ((plots.GID_FRAME_HISTOGRAM, frameLimit),
                       (plots.GID_TRAVEL_HISTOGRAM, travelLimit)):
        assert bar_counts(found[gid]) == {'accepted': len(accepted),
                                          'discarded': len(discarded)}
        assert lines_of(found[gid], plots.GID_AUTO) == {'automatic, %.2f Å' % limit: limit}
        assert any(text.endswith('Å (off the axis)') for text in legend_texts(found[gid]))
    axes = axes_by_gid(scatter.getFigure())[plots.GID_SCATTER]
    assert sorted(lines_of(axes, plots.GID_AUTO).values()) == [frameLimit, travelLimit]
    points = scatter_points(axes)
    assert (len(points['accepted']), len(points['discarded'])) == (
        len(accepted), len(discarded))
    kept = points['accepted']  # decided against thresholds that moved since
    assert np.median(kept[:, 0]) < frameLimit and np.median(kept[:, 1]) < travelLimit


def test_before_the_first_poll_the_viewer_says_the_warm_up_has_no_thresholds(project):
    protocol = project.newProtocol(XmippProtMovieMaxShift, useAutoThresholds=True,
                                   autoWarmup=30)
    project.saveProtocol(protocol)
    viewer = viewer_of(project, protocol)
    for figure in (viewer._histogramFigure(), viewer._scatterFigure()):
        assert title_of(figure).endswith(
            'Automatic thresholds: warm-up, 0 of 30 movies pending (no thresholds yet)')
        assert not any(lines_of(axes, plots.GID_AUTO) for axes in figure.axes)

    statePath = os.path.join(project.path, protocol._getExtraPath(AUTO_STATE_FILE))
    os.makedirs(os.path.dirname(statePath), exist_ok=True)
    with open(statePath, 'w', encoding='utf-8') as stateFile:
        stateFile.write('{"version": 99}')
    title = viewer._histogramFigure()._suptitle.get_text()
    assert 'Automatic thresholds unknown: cannot read' in title
    assert 'unknown automatic-threshold state version 99' in title
