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
import textwrap
from collections import namedtuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

from xmipp3.maxshift import motion

BINS = 50  # histogram bins, whatever the number of movies
ACCEPTED_COLOR = '#2a9d55'
DISCARDED_COLOR = '#d1495b'
UNKNOWN_COLOR = '#555555'
LIMIT_STYLE = {'color': 'black', 'linestyle': '--', 'linewidth': 1.2}
AUTO_STYLE = {'color': '#1d5fa8', 'linestyle': '-.', 'linewidth': 1.4}
REGION_ALPHA = 0.12
NO_MOVIES = 'no movies classified yet'
FRAME_LABEL = 'max frame shift'
MOVIE_LABEL = 'total travel'
EARLY_LABEL = motion.CRITERION_EARLY
LATE_LABEL = motion.CRITERION_LATE
FIRST_THIRD_LABEL = 'first-third mean step'
NO_DOSE = motion.DOSE_ABSENT  # written on early/late histograms without values
INVALID = motion.MOTION_INVALID
# A limit farther than this times the data's range is listed, not drawn in
# range: a limit set very high to switch it off must not squash the data.
LIMIT_REACH = 10.0

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

HISTOGRAMS_SIZE = (11.0, 4.4)  # inches
DOSE_HISTOGRAMS_SIZE = (15.0, 4.4)
SCATTER_SIZE = (6.4, 5.4)
SUMMARY_SIZE = (16.0, 5.0)
SUMMARY_DOSE_SIZE = (16.0, 9.4)  # with a row of dose-aware histograms
TRAJECTORY_PANEL_SIZE = (5.4, 4.8)
SUMMARY_DPI = 80
SCATTER_TITLE_WIDTH = 64  # characters per line of the scatter figure's title

Trajectory = namedtuple('Trajectory',
                        'label samplingRate xshifts yshifts accepted',
                        defaults=(None,))
Trajectory.__doc__ = """One movie's aligned shifts to plot: a label (micName,
id), the sampling rate (A/px), the x and y shifts (px) and, if known, whether
it was accepted."""


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
                   auto=None, withDose=False, earlyLimit=None, lateLimit=None):
    """Both histograms and the scatter plot in one figure.

    withDose: also a second row with the histograms of
    dose_histograms_figure(), when some movie has early/late motion (the
    figure is then SUMMARY_DOSE_SIZE instead of SUMMARY_SIZE)."""
    doseRow = withDose and has_dose_metrics(arrays)
    figure = _prepared(figure, SUMMARY_DOSE_SIZE if doseRow else SUMMARY_SIZE)
    grid = figure.subplots(2 if doseRow else 1, 3, squeeze=False)
    frameAxes, travelAxes, scatterAxes = grid[0]
    _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit,
                    auto)
    plot_scatter(scatterAxes, arrays, rule, frameLimit, movieLimit, auto=auto)
    if doseRow:
        _drawDoseHistograms(grid[1], arrays, earlyLimit, lateLimit, auto)
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
    figure.suptitle('Trajectories (position relative to frame 1)')
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
    """Stacked histogram of one metric (A): accepted movies below, discarded
    above, the limit as a vertical line. NaN values are counted, not binned;
    values beyond the axis go into the last bin.

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
    axes.legend(handles=handles, fontsize='small', loc='upper right')


def plot_scatter(axes, arrays, rule, frameLimit, movieLimit, *, auto=None):
    """Max frame shift (x) against total travel (y), coloured by decision,
    the region the rule rejects shaded, the automatic thresholds in force
    drawn when auto is given. Points beyond the axes are drawn on their
    edge."""
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
    size = 14 if valid.sum() < 2000 else 4
    offScale = 0
    for isAccepted, color, name in ((True, ACCEPTED_COLOR, 'accepted'),
                                    (False, DISCARDED_COLOR, 'discarded')):
        chosen = valid & (accepted == isAccepted)
        x, y = np.clip(frame[chosen], *xRange), np.clip(travel[chosen], *yRange)
        offScale += int(np.sum((x != frame[chosen]) | (y != travel[chosen])))
        axes.scatter(x, y, s=size, color=color, alpha=0.7, linewidths=0,
                     rasterized=True, clip_on=False, gid=name,
                     label='%s (%d)' % (name, chosen.sum()))
    axes.set_xlim(*xRange)
    axes.set_ylim(*yRange)
    handles, _ = axes.get_legend_handles_labels()
    if any(automatic.get(criterion, 0.0) is None
           for criterion in (motion.CRITERION_FRAME, motion.CRITERION_MOVIE)):
        handles.append(_note(_autoNote(auto)))
    if offScale:
        handles.append(_note('%d beyond the axes, drawn on the edge' % offScale))
    invalid = int(np.sum(~valid))
    if invalid:
        handles.append(_note('invalid alignment (%d), not plotted' % invalid))
    axes.legend(handles=handles, fontsize='small', loc='upper center',
                bbox_to_anchor=(0.5, -0.14), ncol=2)


def plot_trajectory(axes, trajectory):
    """A movie's path in A relative to its first frame, with the start, the
    end, every few frames numbered and its largest frame step in bold."""
    x = np.asarray(trajectory.xshifts, dtype=float).ravel()
    y = np.asarray(trajectory.yshifts, dtype=float).ravel()
    measured = motion.measure_motion(x, y, trajectory.samplingRate)
    color = {True: ACCEPTED_COLOR, False: DISCARDED_COLOR}.get(
        trajectory.accepted, UNKNOWN_COLOR)
    decision = {True: 'accepted', False: 'discarded'}.get(trajectory.accepted, '')
    if measured.is_valid:
        detail = '%s %.2f Å, %s %.2f Å' % (FRAME_LABEL, measured.max_frame_shift,
                                           MOVIE_LABEL, measured.total_travel)
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
    axes.plot(xA, yA, '-', color=color, marker='.', markersize=4, linewidth=1)
    axes.plot(xA[first:first + 1], yA[first:first + 1], 'o', color=color,
              markersize=8, label='frame %d' % (first + 1))
    axes.plot(xA[-1:], yA[-1:], 's', color=color, markersize=7,
              label='frame %d' % len(x))
    if len(x) > 1 and measured.is_valid and measured.max_frame_shift > 0:
        step = int(np.nanargmax(motion.frame_steps(x, y)))
        axes.plot(xA[step:step + 2], yA[step:step + 2], '-', color='black',
                  linewidth=2.5, label='largest step, frames %d-%d'
                  % (step + 1, step + 2))
    for frame in annotated_frames(len(x)):
        if not (np.isfinite(xA[frame - 1]) and np.isfinite(yA[frame - 1])):
            continue
        axes.annotate(str(frame), (xA[frame - 1], yA[frame - 1]),
                      textcoords='offset points', xytext=(4, 4),
                      fontsize='x-small')
    axes.set_aspect('equal', adjustable='datalim')
    axes.legend(fontsize='x-small')


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
        withDose = int(np.sum(np.isfinite(_column(arrays, 'earlyMotion_A'))))
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
               for column in ('earlyMotion_A', 'lateMotion_A'))


def axis_limit(values, limit=None):
    """Upper end of an axis (A) showing the bulk of the values and the limit;
    a few extreme values do not squash the rest, and neither does a limit
    more than LIMIT_REACH times beyond the values."""
    values = np.asarray(values, dtype=float)
    candidates = [1.0]
    bulk = (min(1.02 * values.max(), 3.0 * np.percentile(values, 90))
            if len(values) else None)
    if limit is not None and np.isfinite(limit) and limit > 0 and (
            bulk is None or limit <= LIMIT_REACH * max(bulk, 1.0)):
        candidates.append(1.25 * limit)
    if bulk is not None:
        candidates.append(bulk)
    return float(max(candidates))


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
    frame = np.asarray(arrays['maxFrameShift_A'], dtype=float)
    travel = np.asarray(arrays['totalTravel_A'], dtype=float)
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
    """A title in lines of at most about `width` characters, broken after
    its semicolons and the automatic thresholds' '(...):' first."""
    pieces = title.replace('; ', ';\n').replace('): ', '):\n').split('\n')
    return '\n'.join(textwrap.fill(piece, width, break_long_words=False)
                     for piece in pieces)


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
    panels = ((GID_EARLY_HISTOGRAM, 'earlyMotion_A', EARLY_LABEL, earlyLimit,
               motion.CRITERION_EARLY),
              (GID_LATE_HISTOGRAM, 'lateMotion_A', LATE_LABEL, lateLimit,
               motion.CRITERION_LATE),
              (GID_FIRST_THIRD_HISTOGRAM, 'firstThirdMeanStep_A',
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
