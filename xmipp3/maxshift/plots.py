"""Figures of the movie maxshift results: histograms, scatter plot and
trajectories.

Matplotlib and numpy only, no Scipion imports, no display needed: every
figure is a `matplotlib.figure.Figure` built without pyplot, so the protocol
can write a PNG after each poll and the viewer can show the same figures.

The tables plotted are the columns returned by `xmipp3.maxshift.table.as_arrays`
('id', 'micName', 'maxFrameShift_A', 'totalTravel_A' (NaN when the alignment
is invalid), the dose-aware 'earlyMotion_A', 'lateMotion_A' (NaN without
dose information) and 'firstThirdMeanStep_A', 'accepted', 'reason'), with the
rejection rule (see `xmipp3.maxshift.motion.RULE_NAMES`) and its two limits in A.
Movies without a value are counted in legends and titles but not plotted.

Optional keyword arguments add what the protocol may also use: `auto`, the
`xmipp3.maxshift.auto_threshold.AutoThresholds` of a run with automatic thresholds
(their values in force are drawn as dash-dot lines, and its description
written under the title), and `earlyLimit`/`lateLimit`, the early and late
motion limits (A, None when not used).
"""
import math
import os
import re
from collections import namedtuple

import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch, Polygon
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, offset_copy

from xmipp3.maxshift import frames, motion, names

BINS = 50  # histogram bins, whatever the number of movies
ACCEPTED_COLOR = '#2a9d55'
DISCARDED_COLOR = '#d1495b'
UNKNOWN_COLOR = '#555555'
LIMIT_STYLE = {'color': 'black', 'linestyle': '--', 'linewidth': 1.2}
AUTO_STYLE = {'color': '#1d5fa8', 'linestyle': '-.', 'linewidth': 1.4}
REGION_ALPHA = 0.12
NO_MOVIES = 'no movies classified yet'
FRAME_LABEL = names.MAX_FRAME_SHIFT.label
MOVIE_LABEL = names.TOTAL_TRAVEL.label
EARLY_LABEL = names.EARLY_MOTION.label
LATE_LABEL = names.LATE_MOTION.label
FIRST_THIRD_LABEL = names.FIRST_THIRD_STEP.label
NO_DOSE = motion.DOSE_ABSENT  # written on early/late histograms without values
INVALID = motion.MOTION_INVALID
# A limit farther than this times the data's range is listed, not drawn in
# range: a limit set very high to switch it off must not squash the data.
LIMIT_REACH = 10.0
# Values up to this times the upper end of the axis widen it to show them:
# only farther outliers are drawn at the edge (or in the last bin).
OUTLIER_REACH = 2.0
# Discarded movies named on the scatter plot: all of them when there are
# at most this many places to label, else those beyond the axes first.
SCATTER_LABELS = 10
BEYOND_INSET = 0.03  # markers beyond the axes sit this far inside the edge
HEADROOM = 1.12  # histogram y axis: the tallest bar reaches 1/HEADROOM of it
LEGEND_GAP = 32  # points between the bottom of the axes and a legend below
# A step of a trajectory at least this share of the path's extent gets an
# arrowhead, so that a step back over a long one shows.
ARROW_STEP = 0.25
LARGEST_STEP_STYLE = {'color': '#f2a007', 'linewidth': 7, 'alpha': 0.45,
                      'solid_capstyle': 'round', 'zorder': 1.5}

# Axes are identified by their gid, so that tools and tests can find them.
GID_FRAME_HISTOGRAM = 'histogram-maxFrameShift'
GID_TRAVEL_HISTOGRAM = 'histogram-totalTravel'
GID_SCATTER = 'scatter'
GID_TRAJECTORY = 'trajectory'
GID_EARLY_HISTOGRAM = 'histogram-earlyMotion'
GID_LATE_HISTOGRAM = 'histogram-lateMotion'
GID_FIRST_THIRD_HISTOGRAM = 'histogram-firstThirdMeanStep'
GID_REGION = 'rejection-region'
GID_LIMIT = 'limit'  # lines of the limits set by the user
GID_AUTO = 'automatic-threshold'  # lines of the automatic thresholds
GID_MOVIE_LABEL = 'movie-label'  # names of discarded movies on the scatter plot
GID_BEYOND = '-beyond'  # ends the gid of the points drawn at the axes' edge
GID_FRAME_LABEL = 'frames'  # frame numbers on a trajectory
GID_STEP_ARROW = 'step-arrow'  # arrowheads on a trajectory's long steps
GID_HOVER = 'hover'  # the movie under the mouse pointer (add_hover)

HISTOGRAMS_SIZE = (11.0, 4.4)  # inches
DOSE_HISTOGRAMS_SIZE = (15.0, 4.4)
SCATTER_SIZE = (6.4, 5.4)
SUMMARY_SIZE = (16.0, 5.0)
SUMMARY_DOSE_SIZE = (16.0, 9.4)  # with a row of dose-aware histograms
TRAJECTORY_PANEL_SIZE = (5.4, 4.8)
SUMMARY_DPI = 80
SCATTER_TITLE_WIDTH = 64  # characters per line of the scatter figure's title

Trajectory = namedtuple('Trajectory',
                        'label samplingRate xshifts yshifts accepted frameRange',
                        defaults=(None, None))
Trajectory.__doc__ = """One movie's aligned shifts to plot: a label (micName,
id), the sampling rate (A/px), the x and y shifts (px) and, if known, whether
it was accepted and the aligned frames (first, last) that number the shifts."""


# -------------------------- Figures ------------------------------------------
def histograms_figure(arrays, rule, frameLimit, movieLimit, figure=None, *,
                      auto=None):
    """Histograms of max frame shift and of total travel, side by side."""
    figure = _prepared(figure, HISTOGRAMS_SIZE)
    frameAxes, travelAxes = figure.subplots(1, 2)
    _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit,
                    auto)
    figure.suptitle(_title(arrays, rule, frameLimit, movieLimit, auto))
    return figure


def dose_histograms_figure(arrays, earlyLimit=None, lateLimit=None,
                           figure=None, *, auto=None, doseCutoff=None):
    """Histograms of early motion, late motion and first-third mean step.

    Early and late motion say 'no dose information' when no movie has them;
    doseCutoff (e/A2), when given, is written in the title."""
    figure = _prepared(figure, DOSE_HISTOGRAMS_SIZE)
    _drawDoseHistograms(figure.subplots(1, 3), arrays, earlyLimit, lateLimit,
                        auto)
    figure.suptitle(dose_headline(arrays, earlyLimit, lateLimit, auto,
                                  doseCutoff))
    return figure


def scatter_figure(arrays, rule, frameLimit, movieLimit, figure=None, *,
                   auto=None):
    """Max frame shift against total travel, one point per movie."""
    figure = _prepared(figure, SCATTER_SIZE)
    plot_scatter(figure.add_subplot(1, 1, 1), arrays, rule, frameLimit,
                 movieLimit, auto=auto)
    figure.suptitle(_narrow(_title(arrays, rule, frameLimit, movieLimit, auto)),
                    fontsize='medium')
    return figure


def summary_figure(arrays, rule, frameLimit, movieLimit, figure=None, *,
                   auto=None, withDose=False, earlyLimit=None, lateLimit=None,
                   profile=None):
    """Both histograms and the scatter plot in one figure.

    withDose: also a second row with the histograms of
    dose_histograms_figure(), when some movie has early/late motion (the
    figure is then SUMMARY_DOSE_SIZE instead of SUMMARY_SIZE).
    profile: also a last row with frames_figure() (SUMMARY_FRAMES_HEIGHT
    taller)."""
    doseRow = withDose and has_dose_metrics(arrays)
    width, height = SUMMARY_DOSE_SIZE if doseRow else SUMMARY_SIZE
    if profile is not None:
        height += SUMMARY_FRAMES_HEIGHT
    figure = _prepared(figure, (width, height))
    rows = 1 + doseRow + (profile is not None)
    grid = figure.add_gridspec(rows, 3)
    frameAxes, travelAxes, scatterAxes = (figure.add_subplot(grid[0, column])
                                          for column in range(3))
    _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit,
                    auto)
    plot_scatter(scatterAxes, arrays, rule, frameLimit, movieLimit, auto=auto)
    if doseRow:
        _drawDoseHistograms([figure.add_subplot(grid[1, column]) for column in range(3)],
                            arrays, earlyLimit, lateLimit, auto)
    if profile is not None:
        _drawFrames(figure, grid[rows - 1, :], profile, arrays)
    figure.suptitle(_title(arrays, rule, frameLimit, movieLimit, auto,
                           earlyLimit if doseRow else None,
                           lateLimit if doseRow else None))
    return figure


def trajectories_figure(trajectories, figure=None):
    """One panel per movie with its path in A, frames numbered."""
    trajectories = list(trajectories)
    columns = min(max(len(trajectories), 1), 2)
    rows = max(1, math.ceil(len(trajectories) / columns))
    figure = _prepared(figure, (TRAJECTORY_PANEL_SIZE[0] * columns,
                                TRAJECTORY_PANEL_SIZE[1] * rows))
    if not trajectories:
        axes = figure.add_subplot(1, 1, 1)
        axes.set_axis_off()
        axes.text(0.5, 0.5, 'no movies to show', ha='center', va='center',
                  transform=axes.transAxes)
        return figure
    for index, trajectory in enumerate(trajectories):
        plot_trajectory(figure.add_subplot(rows, columns, index + 1), trajectory)
    figure.suptitle('Trajectories (position relative to the first aligned frame)')
    return figure


def add_hover(figure):
    """In a window: the movie under the mouse pointer on a scatter plot is
    named with its values ('id 89: 755 Å, 2422 Å (discarded)'). Nothing
    changes in a figure that is only saved."""
    tips = {}

    def onMove(event):
        axes = event.inaxes
        for other, tip in tips.items():
            if other is not axes and tip.get_visible():
                tip.set_visible(False)
                figure.canvas.draw_idle()
        if axes is None or axes.get_gid() != GID_SCATTER:
            return
        if axes not in tips:
            tips[axes] = axes.annotate(
                '', (0, 0), textcoords='offset points', xytext=(8, 8),
                fontsize='small', gid=GID_HOVER, zorder=10, visible=False,
                annotation_clip=False, bbox=dict(boxstyle='round,pad=0.3',
                                                 facecolor='#ffffe0', alpha=0.95))
            tips[axes].set_in_layout(False)
        tip = tips[axes]
        for points in reversed(axes.collections):  # the ones drawn on top first
            movies = getattr(points, 'movies', None)
            hit, found = points.contains(event) if movies else (False, {})
            if hit:
                index = found['ind'][0]
                ids, frames, travels = movies
                tip.xy = points.get_offsets()[index]
                # towards the middle of the axes, to stay inside them
                right = tip.xy[0] > sum(axes.get_xlim()) / 2
                high = tip.xy[1] > sum(axes.get_ylim()) / 2
                tip.set_horizontalalignment('right' if right else 'left')
                tip.set_verticalalignment('top' if high else 'bottom')
                tip.xyann = (-8 if right else 8, -8 if high else 8)
                tip.set_text('id %d: %s Å, %s Å (%s)' % (
                    ids[index], _short(frames[index]), _short(travels[index]),
                    points.get_gid().replace(GID_BEYOND, '')))
                tip.set_visible(True)
                figure.canvas.draw_idle()
                return
        if tip.get_visible():
            tip.set_visible(False)
            figure.canvas.draw_idle()
    figure.canvas.mpl_connect('motion_notify_event', onMove)
    return figure


def save_summary_png(path, arrays, rule, frameLimit, movieLimit,
                     dpi=SUMMARY_DPI, **options):
    """Write the summary figure as a PNG, replacing `path` atomically:
    readers see the previous image or the new one, never a partial file.
    options: the keyword arguments of summary_figure (auto, withDose,
    earlyLimit, lateLimit)."""
    partial = path + '.partial.png'
    try:
        summary_figure(arrays, rule, frameLimit, movieLimit,
                       **options).savefig(partial, dpi=dpi)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


# -------------------------- Axes ---------------------------------------------
def plot_histogram(axes, values, accepted, limit=None, quantity=FRAME_LABEL, *,
                   autoLimit=None, autoNote='', missing=None):
    """Stacked histogram of one metric (Å): accepted movies below, discarded
    above, the limit as a vertical line, the legend under the axes. NaN
    values are counted, not binned; values beyond the axis go into the last
    bin. The y axis leaves room above the tallest bar.

    autoLimit: an automatic threshold to draw too (A); autoNote: a legend
    note instead, when it has none yet. missing: per movie, why its value
    is NaN (default 'invalid alignment'), counted in the legend."""
    values = np.asarray(values, dtype=float)
    accepted = np.asarray(accepted, dtype=bool)
    valid = np.isfinite(values)
    axes.set_xlabel('%s (Å)' % quantity)
    axes.set_ylabel('movies')
    axes.set_title('%s (%d movies)' % (quantity.capitalize(), len(values)))
    if not len(values):
        _sayNoMovies(axes)
        return
    upper = _axisUpper(values[valid], limit, autoLimit)
    edges = np.linspace(0.0, upper, BINS + 1)
    clipped = np.clip(values, 0.0, upper)
    keptCounts = np.histogram(clipped[valid & accepted], edges)[0]
    droppedCounts = np.histogram(clipped[valid & ~accepted], edges)[0]
    width = edges[1] - edges[0]
    axes.bar(edges[:-1], keptCounts, width, align='edge', color=ACCEPTED_COLOR,
             label='accepted (%d)' % keptCounts.sum())
    axes.bar(edges[:-1], droppedCounts, width, bottom=keptCounts, align='edge',
             color=DISCARDED_COLOR, label='discarded (%d)' % droppedCounts.sum())
    axes.set_xlim(0.0, upper)
    tallest = int((keptCounts + droppedCounts).max())
    # room above the tallest bar, so that it is seen not to be cut
    axes.set_ylim(0.0, max(tallest * HEADROOM, tallest + 1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    handles, _ = axes.get_legend_handles_labels()
    if limit is not None:
        handles.append(axes.axvline(limit, gid=GID_LIMIT, **LIMIT_STYLE,
                                    label='limit %g Å%s'
                                    % (limit, _offAxis(limit, upper))))
    if autoLimit is not None:
        handles.append(axes.axvline(autoLimit, gid=GID_AUTO, **AUTO_STYLE,
                                    label=_autoLabel(autoLimit, upper)))
    elif autoNote:
        handles.append(_note(autoNote))
    beyond = int(np.sum(values[valid] > upper))
    if beyond:
        handles.append(_note('%d above %.3g Å, in the last bin' % (beyond, upper)))
    handles += _missingNotes(valid, missing)
    _legendBelow(axes, handles)


def plot_scatter(axes, arrays, rule, frameLimit, movieLimit, *, auto=None):
    """Max frame shift (x) against total travel (y), coloured by decision,
    the region the rule rejects shaded, the automatic thresholds in force
    drawn when auto is given. Discarded movies are drawn larger, and named
    (see _drawPoints); movies beyond the axes are drawn as triangles at the
    edge, pointing the way they are off."""
    frame, travel, accepted, valid = _metrics(arrays)
    axes.set_gid(GID_SCATTER)
    axes.set_xlabel('%s (Å)' % FRAME_LABEL)
    axes.set_ylabel('%s (Å)' % MOVIE_LABEL)
    axes.set_title('%s vs %s (%d movies)' % (FRAME_LABEL.capitalize(),
                                             MOVIE_LABEL, len(frame)))
    if not len(frame):
        _sayNoMovies(axes)
        return
    frameLimit, movieLimit = _usedLimits(rule, frameLimit, movieLimit)
    automatic = auto_limits(auto)
    frameAuto = automatic.get(motion.CRITERION_FRAME)
    travelAuto = automatic.get(motion.CRITERION_MOVIE)
    xRange = _withMargin(_axisUpper(frame[valid], frameLimit, frameAuto))
    yRange = _withMargin(_axisUpper(travel[valid], movieLimit, travelAuto))
    axes.add_patch(Polygon(
        rejection_region(rule, frameLimit, movieLimit, xRange, yRange),
        closed=True, facecolor=DISCARDED_COLOR, alpha=REGION_ALPHA,
        edgecolor='none', gid=GID_REGION,
        label='rejected by rule %s' % motion.RULE_NAMES[rule]))
    if frameLimit is not None:
        axes.axvline(frameLimit, gid=GID_LIMIT, **LIMIT_STYLE,
                     label='max frame shift limit %g Å%s'
                     % (frameLimit, _offAxis(frameLimit, xRange[1])))
    if movieLimit is not None:
        axes.axhline(movieLimit, gid=GID_LIMIT, **dict(LIMIT_STYLE, linestyle=':'),
                     label='max movie shift limit %g Å%s'
                     % (movieLimit, _offAxis(movieLimit, yRange[1])))
    if frameAuto is not None:
        axes.axvline(frameAuto, gid=GID_AUTO, **AUTO_STYLE, label='%s: %s' % (
            FRAME_LABEL, _autoLabel(frameAuto, xRange[1])))
    if travelAuto is not None:
        axes.axhline(travelAuto, gid=GID_AUTO, **AUTO_STYLE, label='%s: %s' % (
            MOVIE_LABEL, _autoLabel(travelAuto, yRange[1])))
    axes.set_xlim(*xRange)
    axes.set_ylim(*yRange)
    handles = _drawPoints(axes, arrays, xRange, yRange)
    if any(automatic.get(criterion, 0.0) is None
           for criterion in (motion.CRITERION_FRAME, motion.CRITERION_MOVIE)):
        handles.append(_note(_autoNote(auto)))
    invalid = int(np.sum(~valid))
    if invalid:
        handles.append(_note('invalid alignment (%d), not plotted' % invalid))
    _legendBelow(axes, handles)


def plot_trajectory(axes, trajectory):
    """A movie's path in Å relative to its first frame, with the start, the
    end, every few frames numbered (frames at the same place share one
    label), its largest frame step highlighted under the path and an
    arrowhead on each long step.

    Frames are numbered as the movie's when the aligned range agrees with
    the shifts, from 1 when no range is known; when they disagree, the
    shifts are numbered instead (shift 1 is the first stored)."""
    x = np.asarray(trajectory.xshifts, dtype=float).ravel()
    y = np.asarray(trajectory.yshifts, dtype=float).ravel()
    measured = motion.measure_motion(x, y, trajectory.samplingRate,
                                     trajectory.frameRange)
    layout = measured.layout
    unknown = layout.frames_unknown if layout else ''
    offset = (layout.first_frame if layout and layout.first_frame else 1) - 1
    unit = 'shift' if unknown else 'frame'
    color = {True: ACCEPTED_COLOR, False: DISCARDED_COLOR}.get(
        trajectory.accepted, UNKNOWN_COLOR)
    decision = {True: 'accepted', False: 'discarded'}.get(trajectory.accepted, '')
    if measured.is_valid:
        detail = '%s %.2f Å, %s %.2f Å' % (FRAME_LABEL, measured.max_frame_shift,
                                           MOVIE_LABEL, measured.total_travel)
        if unknown:
            detail += '\n%s: %s' % (motion.FRAMES_UNKNOWN, unknown)
    else:
        detail = '%s: %s' % (motion.MOTION_INVALID, measured.problem)
    axes.set_gid(GID_TRAJECTORY)
    axes.set_title('%s\n%s' % (trajectory.label,
                               ', '.join(filter(None, [decision, detail]))),
                   fontsize='medium')
    axes.set_xlabel('x (Å)')
    axes.set_ylabel('y (Å)')
    rate = _positive(trajectory.samplingRate)
    drawable = np.flatnonzero(np.isfinite(x) & np.isfinite(y)) if len(x) == len(y) else []
    if rate is None or not len(drawable):
        axes.text(0.5, 0.5, 'nothing to draw', ha='center', va='center',
                  transform=axes.transAxes)
        return
    first = drawable[0]  # the reference: frame 1 unless its shift is unusable
    xA, yA = (x - x[first]) * rate, (y - y[first]) * rate
    axes.plot(xA, yA, '-', color=color, marker='.', markersize=4, linewidth=1,
              zorder=2)
    axes.plot(xA[first:first + 1], yA[first:first + 1], 'o', color=color,
              markersize=8, label='%s %d' % (unit, offset + first + 1),
              zorder=2.2)
    axes.plot(xA[-1:], yA[-1:], 's', color=color, markersize=7,
              label='%s %d' % (unit, offset + len(x)), zorder=2.2)
    steps = np.hypot(np.diff(xA), np.diff(yA))
    if len(x) > 1 and measured.is_valid and measured.max_frame_shift > 0:
        # Under the path, so that a step back over it stays visible
        step = int(np.nanargmax(motion.frame_steps(x, y)))
        axes.plot(xA[step:step + 2], yA[step:step + 2], **LARGEST_STEP_STYLE,
                  label='largest step, %ss %d-%d'
                  % (unit, offset + step + 1, offset + step + 2))
    extent = max(np.ptp(xA[drawable]), np.ptp(yA[drawable]))
    for index in np.flatnonzero(np.isfinite(steps) & (steps >= ARROW_STEP * extent)
                                & (steps > 0)):
        _arrowhead(axes, (xA[index], yA[index]), (xA[index + 1], yA[index + 1]),
                   color)
    labels = []
    for group, (px, py) in frame_groups(xA, yA, annotated_frames(len(x))):
        labels.append(axes.annotate(
            frame_list([offset + frame for frame in group]), (px, py),
            textcoords='offset points', xytext=(4, 4), fontsize='x-small',
            ha='left', va='bottom', gid=GID_FRAME_LABEL))
    _LabelPlacer(axes, labels, np.column_stack([xA, yA])[drawable])
    axes.set_aspect('equal', adjustable='datalim')
    _legendBelow(axes, axes.get_legend_handles_labels()[0], fontsize='x-small',
                 ncol=3)


# -------------------------- Choosing movies ----------------------------------
def default_trajectory_ids(arrays, discarded=3):
    """Ids of the discarded movies that travelled the most and of one typical
    accepted movie (the one closest to the median total travel)."""
    _, travel, accepted, valid = _metrics(arrays)
    ids = np.asarray(arrays['id'])
    dropped = np.flatnonzero(valid & ~accepted)
    chosen = list(dropped[np.argsort(-travel[dropped], kind='stable')][:discarded])
    kept = np.flatnonzero(valid & accepted)
    if len(kept):
        median = np.median(travel[kept])
        chosen.append(kept[np.argmin(np.abs(travel[kept] - median))])
    return [int(ids[index]) for index in chosen]


def find_movies(arrays, text):
    """Resolve a list of movie ids or micNames (comma or space separated).

    Returns the ids found, in the order given, and the words that match no
    movie."""
    byName = {name: int(movieId) for movieId, name in zip(arrays['id'], arrays['micName'])}
    known = set(byName.values())
    found, unknown = [], []
    for word in filter(None, re.split(r'[,\s]+', text or '')):
        if word.isdigit() and int(word) in known:
            movieId = int(word)
        elif word in byName:
            movieId = byName[word]
        else:
            unknown.append(word)
            continue
        if movieId not in found:
            found.append(movieId)
    return found, unknown


# -------------------------- Helpers ------------------------------------------
def headline(arrays, rule, frameLimit, movieLimit):
    """'<n> movies: <a> accepted, <d> discarded (...)', with the rule."""
    frame, _, accepted, valid = _metrics(arrays)
    frameLimit, movieLimit = _usedLimits(rule, frameLimit, movieLimit)
    limits = ', '.join(['%s %g Å' % (name, limit) for name, limit in
                        (('max frame shift', frameLimit),
                         ('max movie shift', movieLimit)) if limit is not None])
    rule = 'rule %s (%s)' % (motion.RULE_NAMES[rule], limits)
    if not len(frame):
        return '%s; %s' % (NO_MOVIES.capitalize(), rule)
    invalid = int(np.sum(~valid))
    return '%d movies: %d accepted, %d discarded%s; %s' % (
        len(frame), accepted.sum(), (~accepted).sum(),
        ' (%d invalid alignment)' % invalid if invalid else '', rule)


def dose_headline(arrays, earlyLimit=None, lateLimit=None, auto=None,
                  doseCutoff=None):
    """'<n> movies: <a> accepted, <d> discarded; max early motion ...',
    with the automatic thresholds' line when they judge early motion."""
    accepted = np.asarray(arrays['accepted'], dtype=bool)
    limits = '; '.join('%s %s' % (name, 'not used' if limit is None
                                  else '%g Å' % limit)
                       for name, limit in (('max early motion', earlyLimit),
                                           ('max late motion', lateLimit)))
    if doseCutoff is not None:
        limits += '; early until %g e/Å²' % doseCutoff
    if not len(accepted):
        line = '%s; %s' % (NO_MOVIES.capitalize(), limits)
    else:
        withDose = int(np.sum(np.isfinite(_column(arrays, names.EARLY_MOTION.column))))
        line = '%d movies (%d with dose information): %d accepted, %d ' \
               'discarded; %s' % (len(accepted), withDose, accepted.sum(),
                                  (~accepted).sum(), limits)
    if auto is not None and motion.CRITERION_EARLY in auto.metrics:
        line += '\n' + auto_headline(auto)
    return line


def auto_limits(auto):
    """The automatic thresholds in force, {criterion: A or None}; {} when
    auto is None (automatic thresholds not used)."""
    return {} if auto is None else auto.thresholds()


def auto_headline(auto):
    """The automatic thresholds' description, capitalized, saying when
    there are no thresholds yet."""
    line = auto.describe()
    if auto.warming_up:
        line += ' (no thresholds yet)'
    return line[:1].upper() + line[1:]


def has_dose_metrics(arrays):
    """True when some movie has its early or late motion (dose information)."""
    return any(np.isfinite(_column(arrays, column)).any()
               for column in (names.EARLY_MOTION.column, names.LATE_MOTION.column))


def axis_limit(values, limit=None):
    """Upper end of an axis (Å) showing the bulk of the values and the limit;
    a few extreme values do not squash the rest, and neither does a limit
    more than LIMIT_REACH times beyond the values. Values up to
    OUTLIER_REACH times that end are shown too: only the far ones are not."""
    values = np.asarray(values, dtype=float)
    candidates = [1.0]
    bulk = (min(1.02 * values.max(), 3.0 * np.percentile(values, 90))
            if len(values) else None)
    if limit is not None and np.isfinite(limit) and limit > 0 and (
            bulk is None or limit <= LIMIT_REACH * max(bulk, 1.0)):
        candidates.append(1.25 * limit)
    if bulk is not None:
        candidates.append(bulk)
    upper = float(max(candidates))
    near = values[values <= OUTLIER_REACH * upper]
    return max(upper, 1.1 * float(near.max())) if len(near) else upper


def rejection_region(rule, frameLimit, movieLimit, xRange, yRange):
    """Vertices of the area of the (max frame shift, total travel) plane
    that the rule rejects, within the given ranges (limits beyond a range
    are taken at its edge)."""
    (x0, x1), (y0, y1) = xRange, yRange
    if frameLimit is not None:
        frameLimit = min(max(frameLimit, x0), x1)
    if movieLimit is not None:
        movieLimit = min(max(movieLimit, y0), y1)
    if rule == motion.REJ_FRAME:
        return [(frameLimit, y0), (x1, y0), (x1, y1), (frameLimit, y1)]
    if rule == motion.REJ_MOVIE:
        return [(x0, movieLimit), (x1, movieLimit), (x1, y1), (x0, y1)]
    if rule == motion.REJ_AND:
        return [(frameLimit, movieLimit), (x1, movieLimit), (x1, y1),
                (frameLimit, y1)]
    if rule == motion.REJ_OR:
        return [(frameLimit, y0), (x1, y0), (x1, y1), (x0, y1),
                (x0, movieLimit), (frameLimit, movieLimit)]
    raise ValueError('unknown rejection rule %r' % rule)


def annotated_frames(nFrames, labels=8):
    """Frame numbers (1-based) to write on a trajectory: the first, the last
    and about `labels` evenly spaced in between."""
    if nFrames <= 0:
        return []
    every = max(1, math.ceil(nFrames / labels))
    frames = set(range(every, nFrames + 1, every)) | {1, nFrames}
    if nFrames - 1 in frames and nFrames - 1 > 1 and every > 1:
        frames.discard(nFrames - 1)  # too close to the last label
    return sorted(frames)


def frame_groups(x, y, frames):
    """The frames to label (1-based numbers) grouped by place, as
    [(frames, (x, y)), ...]: frames within 1 % of the path's extent of a
    group's first frame share its label. Frames without a position are left
    out."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return []
    tolerance = 0.01 * max(np.ptp(x[finite]), np.ptp(y[finite]))
    groups = []
    for frame in frames:
        if not finite[frame - 1]:
            continue
        for members, (gx, gy) in groups:
            if math.hypot(x[frame - 1] - gx, y[frame - 1] - gy) <= tolerance:
                members.append(frame)
                break
        else:
            groups.append(([frame], (x[frame - 1], y[frame - 1])))
    return groups


def frame_list(frames):
    """'1-3, 5, 7, 8': frame numbers, runs of three or more shortened."""
    runs = []
    for frame in sorted(frames):
        if runs and frame == runs[-1][-1] + 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return ', '.join('%d-%d' % (run[0], run[-1]) if len(run) > 2
                     else ', '.join(map(str, run)) for run in runs)


def _positive(value):
    """value as a positive finite float, else None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) and value > 0 else None


def _column(arrays, column):
    """A metric column as floats; all NaN when absent (older tables)."""
    if column in arrays:
        return np.asarray(arrays[column], dtype=float)
    return np.full(len(arrays['accepted']), np.nan)


def _metrics(arrays):
    frame = np.asarray(arrays[names.MAX_FRAME_SHIFT.column], dtype=float)
    travel = np.asarray(arrays[names.TOTAL_TRAVEL.column], dtype=float)
    accepted = np.asarray(arrays['accepted'], dtype=bool)
    return frame, travel, accepted, np.isfinite(frame) & np.isfinite(travel)


def _usedLimits(rule, frameLimit, movieLimit):
    """The limits the rule uses; None for the other."""
    if rule not in range(len(motion.RULE_NAMES)):
        raise ValueError('unknown rejection rule %r (expected 0-3: %s)'
                         % (rule, ', '.join(motion.RULE_NAMES)))
    return (frameLimit if motion.uses_frame_limit(rule) else None,
            movieLimit if motion.uses_movie_limit(rule) else None)


def _title(arrays, rule, frameLimit, movieLimit, auto, earlyLimit=None,
           lateLimit=None):
    """The headline, the dose limits drawn, and the automatic thresholds."""
    lines = [headline(arrays, rule, frameLimit, movieLimit)]
    doseLimits = ', '.join('%s %g Å' % (name, limit) for name, limit in
                           (('max early motion', earlyLimit),
                            ('max late motion', lateLimit)) if limit is not None)
    if doseLimits:
        lines[0] += '; ' + doseLimits
    if auto is not None:
        lines.append(auto_headline(auto))
    return '\n'.join(lines)


def _narrow(title, width=SCATTER_TITLE_WIDTH):
    """A title in lines of at most about `width` characters, broken only
    between phrases: after '; ', ', ' or ': ', or before ' ('. A phrase
    longer than a line keeps its line."""
    lines = []
    for paragraph in title.split('\n'):
        line = ''
        for phrase in re.split(r'(?<=[;,:]) | (?=\()', paragraph):
            if line and len(line) + 1 + len(phrase) > width:
                lines.append(line)
                line = phrase
            else:
                line = line + ' ' + phrase if line else phrase
        lines.append(line)
    return '\n'.join(lines)


def _axisUpper(values, *limits):
    """axis_limit() showing each of the limits (None: not set)."""
    return max(axis_limit(values, limit) for limit in limits)


def _autoNote(auto):
    """Why an automatic threshold is not drawn."""
    return ('automatic: none yet (warm-up)' if auto.warming_up else
            'automatic: not set yet (too few movies)')


def _autoLabel(limit, upper):
    return 'automatic, %.2f Å%s' % (limit, _offAxis(limit, upper))


def _offAxis(limit, upper):
    return ' (off the axis)' if limit > upper else ''


def _missingNotes(valid, missing=None):
    """Legend notes counting the movies without a value, by why."""
    why = np.full(len(valid), INVALID, dtype=object) if missing is None \
        else np.asarray(missing, dtype=object)
    return [_note('%s (%d), not plotted' % (reason, np.sum(why[~valid] == reason)))
            for reason in sorted(set(why[~valid]))]


def _autoArguments(auto, criterion):
    """plot_histogram's keyword arguments for an automatic threshold."""
    if auto is None or criterion not in auto.metrics:
        return {}
    limit = auto.thresholds()[criterion]
    return {'autoLimit': limit, 'autoNote': '' if limit is not None
            else _autoNote(auto)}


def _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit,
                    auto=None):
    frame, travel, accepted, _ = _metrics(arrays)
    frameLimit, movieLimit = _usedLimits(rule, frameLimit, movieLimit)
    frameAxes.set_gid(GID_FRAME_HISTOGRAM)
    travelAxes.set_gid(GID_TRAVEL_HISTOGRAM)
    plot_histogram(frameAxes, frame, accepted, frameLimit, FRAME_LABEL,
                   **_autoArguments(auto, motion.CRITERION_FRAME))
    plot_histogram(travelAxes, travel, accepted, movieLimit, MOVIE_LABEL,
                   **_autoArguments(auto, motion.CRITERION_MOVIE))


def _drawDoseHistograms(axesRow, arrays, earlyLimit, lateLimit, auto=None):
    """Early motion, late motion and first-third mean step histograms."""
    frame, _, accepted, _ = _metrics(arrays)
    # a movie without a dose-aware value: invalid alignment, or no dose
    why = np.where(np.isfinite(frame), NO_DOSE, INVALID).astype(object)
    panels = ((GID_EARLY_HISTOGRAM, names.EARLY_MOTION.column, EARLY_LABEL, earlyLimit,
               motion.CRITERION_EARLY),
              (GID_LATE_HISTOGRAM, names.LATE_MOTION.column, LATE_LABEL, lateLimit,
               motion.CRITERION_LATE),
              (GID_FIRST_THIRD_HISTOGRAM, names.FIRST_THIRD_STEP.column,
               FIRST_THIRD_LABEL, None, None))
    for axes, (gid, column, label, limit, criterion) in zip(axesRow, panels):
        axes.set_gid(gid)
        values = _column(arrays, column)
        if len(values) and not np.isfinite(values).any() and criterion:
            _sayNoDose(axes, label, len(values), limit)
            continue
        plot_histogram(axes, values, accepted, limit, label,
                       missing=why if criterion else None,
                       **_autoArguments(auto, criterion))


def _withMargin(upper):
    return -0.02 * upper, upper


def _note(text):
    """A legend entry with no symbol."""
    return Patch(facecolor='none', edgecolor='none', label=text)


def _sayNoDose(axes, quantity, movies, limit):
    """An early/late motion panel when no movie has dose information."""
    axes.set_xlabel('%s (Å)' % quantity)
    axes.set_title('%s (%d movies)' % (quantity.capitalize(), movies))
    axes.set_xticks([])
    axes.set_yticks([])
    text = NO_DOSE + ('\n(limit %g Å not applied)' % limit if limit is not None
                      else '')
    axes.text(0.5, 0.5, text, ha='center', va='center', transform=axes.transAxes)


def _sayNoMovies(axes):
    axes.text(0.5, 0.5, NO_MOVIES, ha='center', va='center',
              transform=axes.transAxes)


def _prepared(figure, size):
    """A new Agg-ready figure, or the one given (e.g. a Tk plotter's)."""
    if figure is None:
        figure = Figure(figsize=size)
    else:
        figure.set_size_inches(*size)
    figure.set_layout_engine('constrained')
    return figure


# -------------------------- Markers and labels -------------------------------
BEYOND_CORNER = MarkerStyle('^', transform=Affine2D().rotate_deg(-45))
MARK = 4.5  # points: half the size of a marker that labels keep off


def _drawPoints(axes, arrays, xRange, yRange):
    """The scatter plot's points; returns their legend handles.

    Accepted movies are small dots, discarded ones larger and outlined.
    A movie beyond an axis is a triangle just inside that edge, pointing
    out (to the right, up, or to the corner for both); the discarded ones
    are named, with their values."""
    frame, travel, accepted, valid = _metrics(arrays)
    ids = np.asarray(arrays['id'])
    (x0, x1), (y0, y1) = xRange, yRange
    beyondX, beyondY = valid & (frame > x1), valid & (travel > y1)
    beyond = beyondX | beyondY
    px = np.where(beyondX, x1 - BEYOND_INSET * (x1 - x0), frame)
    py = np.where(beyondY, y1 - BEYOND_INSET * (y1 - y0), travel)
    many = valid.sum() >= 2000
    handles = []
    for isAccepted, color, name in ((True, ACCEPTED_COLOR, 'accepted'),
                                    (False, DISCARDED_COLOR, 'discarded')):
        chosen = valid & (accepted == isAccepted)
        inside = chosen & ~beyond
        style = (dict(s=4 if many else 14, alpha=0.7, linewidths=0)
                 if isAccepted else
                 dict(s=8 if many else 30, edgecolors='#6b0f1a',
                      linewidths=0.3 if many else 0.6, zorder=3))
        points = axes.scatter(px[inside], py[inside], color=color,
                              rasterized=True, gid=name,
                              label='%s (%d)' % (name, chosen.sum()), **style)
        points.movies = (ids[inside], frame[inside], travel[inside])
        handles.append(points)
        for where, marker in ((beyondX & ~beyondY, '>'),
                              (beyondY & ~beyondX, '^'),
                              (beyondX & beyondY, BEYOND_CORNER)):
            off = chosen & where
            if off.any():
                points = axes.scatter(px[off], py[off], s=70, marker=marker,
                                      color=color, edgecolors='black',
                                      linewidths=0.8, zorder=4,
                                      gid=name + GID_BEYOND)
                points.movies = (ids[off], frame[off], travel[off])
    if beyond.any():
        handles.append(Line2D([], [], linestyle='none', marker='>',
                              markersize=8, markerfacecolor='white',
                              markeredgecolor='black',
                              label='beyond the axes (%d): at the edge, '
                                    'pointing out' % beyond.sum()))
    _nameDiscarded(axes, arrays, px, py, valid & ~accepted, beyond)
    return handles


def _nameDiscarded(axes, arrays, px, py, discarded, beyond):
    """Label the discarded movies at their markers: 'id 89' (or 'ids 5,
    29' for movies at the same place), and with their values when beyond
    the axes. At most SCATTER_LABELS places: those beyond the axes first,
    then those that travelled the most."""
    ids = np.asarray(arrays['id'])
    frame, travel = _metrics(arrays)[:2]
    (x0, x1), (y0, y1) = axes.get_xlim(), axes.get_ylim()
    places = {}
    for index in np.flatnonzero(discarded):
        key = (round((px[index] - x0) / (x1 - x0) * 200),
               round((py[index] - y0) / (y1 - y0) * 200))
        places.setdefault(key, []).append(index)
    groups = sorted(places.values(), key=lambda group: (
        not beyond[group].any(), -travel[group].max()))[:SCATTER_LABELS]
    labels = []
    for group in groups:
        group = sorted(group, key=lambda index: (-travel[index], ids[index]))
        if beyond[group].any():
            lines = ['id %d: %s Å, %s Å' % (ids[index], _short(frame[index]),
                                            _short(travel[index]))
                     for index in group[:3]]
            if len(group) > 3:
                lines.append('and %d more' % (len(group) - 3))
            text = '\n'.join(lines)
        else:
            shown = sorted(int(ids[index]) for index in group)
            text = ('id %d' % shown[0] if len(shown) == 1 else 'ids ' + ', '.join(
                map(str, shown[:4])) + (' and %d more' % (len(shown) - 4)
                                        if len(shown) > 4 else ''))
        labels.append(axes.annotate(
            text, (px[group[0]], py[group[0]]), textcoords='offset points',
            xytext=(4, 4), ha='left', va='bottom', fontsize='x-small',
            color='#6b0f1a', gid=GID_MOVIE_LABEL, zorder=5,
            bbox=dict(boxstyle='round,pad=0.15', facecolor='white',
                      edgecolor='none', alpha=0.85),
            arrowprops=dict(arrowstyle='-', color='0.35', linewidth=0.6,
                            shrinkA=0, shrinkB=4)))
    _LabelPlacer(axes, labels, np.column_stack([px, py])[discarded])


def _short(value):
    """A value in Å with as many digits as it needs: 2422, 64.9, 4.31."""
    return '%.0f' % value if value >= 100 else '%.1f' % value \
        if value >= 10 else '%.2f' % value


def _arrowhead(axes, start, end, color):
    """An arrowhead on the step from start to end, 40 % along it (a step
    back over the same line gets its own, elsewhere)."""
    start, end = np.asarray(start), np.asarray(end)
    axes.annotate('', xy=start + 0.45 * (end - start),
                  xytext=start + 0.4 * (end - start),
                  arrowprops=dict(arrowstyle='-|>,head_length=0.6,head_width=0.3',
                                  color=color, linewidth=0.6,
                                  mutation_scale=14, shrinkA=0, shrinkB=0),
                  gid=GID_STEP_ARROW, zorder=2.5).set_in_layout(False)


def _legendBelow(axes, handles, fontsize='small', ncol=2):
    """The axes' legend under it, below its x label: never over the data."""
    below = offset_copy(axes.transAxes, fig=axes.figure, y=-LEGEND_GAP,
                        units='points')
    return axes.legend(handles=handles, fontsize=fontsize, ncol=ncol,
                       loc='upper center', bbox_to_anchor=(0.5, 0.0),
                       bbox_transform=below)


class _LabelPlacer(Artist):
    """Places an axes' labels each time it is drawn, when the layout is
    known: each next to its point, inside the axes, off the labels placed
    before it and, as far as it can, off the given points (data)."""

    def __init__(self, axes, labels, points=()):
        super().__init__()
        self.labels = list(labels)
        self.points = np.asarray(points, dtype=float).reshape(-1, 2)
        self.set_zorder(-10)  # drawn before the labels
        self.set_in_layout(False)
        for label in self.labels:
            label.set_in_layout(False)
        axes.add_artist(self)

    def draw(self, renderer):
        if self.labels:
            place_labels(self.axes, self.labels, self.points, renderer)


def place_labels(axes, labels, points, renderer):
    """Move each annotation (offset points, ha left, va bottom) to the first
    of a ring of places around its point that is inside the axes and
    overlaps nothing placed, else to the place that overlaps least."""
    frame = axes.get_window_extent(renderer)
    pt = renderer.points_to_pixels(1.0)
    marks = axes.transData.transform(points) if len(points) else np.empty((0, 2))
    marks = marks[np.isfinite(marks).all(axis=1)]
    obstacles = np.hstack([marks - MARK * pt, marks + MARK * pt])  # x0 y0 x1 y1
    placed = np.empty((0, 4))
    for label in labels:
        label.xyann = (0, 0)
        label.update_positions(renderer)
        size = Text.get_window_extent(label, renderer)
        w, h = size.width / pt + 2, size.height / pt + 2  # and a margin
        ax, ay = axes.transData.transform(label.xy)
        best = None
        for radius in (MARK, 9, 16, 28, 44):
            for dx, dy in ((radius, 0.4 * radius), (radius, -h - 0.4 * radius),
                           (-w - radius, 0.4 * radius),
                           (-w - radius, -h - 0.4 * radius),
                           (-w / 2, radius), (-w / 2, -h - radius),
                           (radius, -h / 2), (-w - radius, -h / 2)):
                x0, y0 = ax + dx * pt, ay + dy * pt
                box = np.array([x0, y0, x0 + w * pt, y0 + h * pt])
                inside = _overlaps(box, np.array([[frame.x0, frame.y0,
                                                   frame.x1, frame.y1]]))[0]
                cost = (1e6 * ((box[2] - box[0]) * (box[3] - box[1]) - inside)
                        + 1e3 * _overlaps(box, placed).sum()
                        + _overlaps(box, obstacles).sum())
                if best is None or cost < best[0]:
                    best = (cost, radius, dx + 1, dy + 1, box)
            if best[0] == 0:
                break
        _, radius, dx, dy, box = best
        label.xyann = (dx, dy)
        if label.arrow_patch is not None:  # a leader only when it is away
            label.arrow_patch.set_visible(radius >= 16)
        placed = np.vstack([placed, box])


def _overlaps(box, others):
    """Areas of the intersections of a box with others (x0, y0, x1, y1
    rows, display units)."""
    width = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    height = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return np.clip(width, 0, None) * np.clip(height, 0, None)


# -------------------------- Frames: profile and drift directions ------------
GID_FRAME_PROFILE = 'frame-profile'
GID_DIRECTIONS = 'drift-directions'
GID_DROP = 'frames-to-drop'
FRAMES_SIZE = (13.0, 4.8)
SUMMARY_FRAMES_HEIGHT = 4.8  # inches added to the summary for the frames row


def frames_figure(profile, arrays, figure=None):
    """The session's step per frame (profile: frames.read_profile()) and the
    movies' net drift directions (arrays: table.as_arrays())."""
    figure = _prepared(figure, FRAMES_SIZE)
    _drawFrames(figure, figure.add_gridspec(1, 3)[0, :], profile, arrays)
    return figure


def _drawFrames(figure, cell, profile, arrays):
    grid = cell.subgridspec(1, 3)
    plot_frame_profile(figure.add_subplot(grid[0, :2]), profile)
    plot_directions(figure.add_subplot(grid[0, 2], projection='polar'), arrays)


def plot_frame_profile(axes, profile):
    """Median (solid) and 90th percentile (dashed) step of each frame, for
    the accepted and the discarded movies; the frames the profile says to
    drop shaded."""
    axes.set_gid(GID_FRAME_PROFILE)
    axes.set_xlabel('frame (a step belongs to the later of its two frames)')
    axes.set_ylabel('step (Å)')
    if not (profile[True] or profile[False]):
        axes.set_title('Step per frame')
        _sayNoMovies(axes)
        return
    for accepted, color, name in ((True, ACCEPTED_COLOR, 'accepted'),
                                  (False, DISCARDED_COLOR, 'discarded')):
        stats = profile[accepted]
        if not stats:
            continue
        frameNumbers = [s.frame for s in stats]
        most = max(s.movies for s in stats)
        axes.plot(frameNumbers, [s.median for s in stats], color=color, marker='o',
                  markersize=3, label='%s: median (%d movies)' % (name, most))
        axes.plot(frameNumbers, [s.p90 for s in stats], color=color, linestyle='--',
                  label='%s: 90th percentile' % name)
    recommendation = frames.recommend(profile[True])
    if recommendation and recommendation.first_frame > recommendation.first_seen:
        axes.axvspan(recommendation.first_seen + 0.5, recommendation.first_frame + 0.5,
                     color=DISCARDED_COLOR, alpha=REGION_ALPHA, gid=GID_DROP,
                     label='frames to drop: align from frame %d'
                     % recommendation.first_frame)
    if recommendation:
        axes.axhline(recommendation.factor * recommendation.late_level,
                     gid=GID_LIMIT, **dict(LIMIT_STYLE, linestyle=':'),
                     label='%g x the late frames\' median step' % recommendation.factor)
    # scaled to the accepted movies: a discarded movie's jump would flatten them
    reference = profile[True] or profile[False]
    upper = HEADROOM * max(max(s.p90 for s in reference),
                           recommendation.factor * recommendation.late_level
                           if recommendation else 0.0)
    beyond = max((s.p90 for s in profile[False]), default=0.0)
    if beyond > upper:
        axes.plot([], [], ' ', label='discarded steps up to %s Å, beyond the axis'
                  % _short(beyond))
    axes.set_ylim(0, upper if upper > 0 else 1.0)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title('Step per frame: %s' % _recommendationText(recommendation))
    axes.legend(fontsize='small')


def _recommendationText(recommendation):
    if recommendation is None:
        return 'no accepted movie yet'
    if recommendation.first_frame > recommendation.first_seen:
        return 'align from frame %d' % recommendation.first_frame
    return 'no frames to drop'


def plot_directions(axes, arrays):
    """Polar histogram of the movies' net drift directions, accepted and
    discarded stacked, with their mean direction drawn as long as R."""
    axes.set_gid(GID_DIRECTIONS)
    angles = _column(arrays, names.DRIFT_DIRECTION.column)
    accepted = np.asarray(arrays.get('accepted', []), dtype=bool)
    known = np.isfinite(angles)
    edges = np.radians(np.arange(0, 361, frames.DIRECTION_BIN_DEG))
    width = np.radians(frames.DIRECTION_BIN_DEG)
    bottom = np.zeros(len(edges) - 1)
    directions = frames.DriftDirections()
    for angle in angles[known]:
        directions.add(angle)
    for selected, color, name in ((accepted, ACCEPTED_COLOR, 'accepted'),
                                  (~accepted, DISCARDED_COLOR, 'discarded')):
        counts, _ = np.histogram(np.radians(angles[known & selected]), edges)
        axes.bar(edges[:-1], counts, width=width, bottom=bottom, align='edge',
                 color=color, edgecolor='white', linewidth=0.5,
                 label='%s (%d)' % (name, counts.sum()))
        bottom = bottom + counts
    if directions.movies:
        top = max(bottom.max(), 1)
        axes.annotate('', xy=(np.radians(directions.mean_direction()),
                              directions.resultant_length() * top),
                      xytext=(0, 0), arrowprops=dict(arrowstyle='->', color='black',
                                                     linewidth=1.5))
    axes.set_title('Drift directions: %s' % (
        'consistent, %.0f deg (R = %.2f)' % (directions.mean_direction(),
                                             directions.resultant_length())
        if directions.consistent() else
        'no common direction (R = %.2f)' % directions.resultant_length()
        if directions.movies else 'no movement'), fontsize='medium', pad=18)
    axes.legend(fontsize='small', loc='lower left', bbox_to_anchor=(-0.15, -0.2))
