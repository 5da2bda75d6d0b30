"""Figures of the movie maxshift results: histograms, scatter plot and
trajectories.

Matplotlib and numpy only, no Scipion imports, no display needed: every
figure is a `matplotlib.figure.Figure` built without pyplot, so the protocol
can write a PNG after each poll and the viewer can show the same figures.

The tables plotted are the columns returned by `xmipp3.table.as_arrays`
('id', 'micName', 'maxFrameShift_A', 'totalTravel_A' (NaN when the alignment
is invalid), 'accepted', 'reason'), with the rejection rule (see
`xmipp3.motion.RULE_NAMES`) and its two limits in A. Movies with an invalid
alignment are counted in legends and titles but not plotted.
"""
import math
import os
import re
from collections import namedtuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

from xmipp3 import motion

BINS = 50  # histogram bins, whatever the number of movies
ACCEPTED_COLOR = '#2a9d55'
DISCARDED_COLOR = '#d1495b'
UNKNOWN_COLOR = '#555555'
LIMIT_STYLE = {'color': 'black', 'linestyle': '--', 'linewidth': 1.2}
REGION_ALPHA = 0.12
NO_MOVIES = 'no movies classified yet'
FRAME_LABEL = 'max frame shift'
MOVIE_LABEL = 'total travel'

# Axes are identified by their gid, so that tools and tests can find them.
GID_FRAME_HISTOGRAM = 'histogram-maxFrameShift'
GID_TRAVEL_HISTOGRAM = 'histogram-totalTravel'
GID_SCATTER = 'scatter'
GID_TRAJECTORY = 'trajectory'
GID_REGION = 'rejection-region'

HISTOGRAMS_SIZE = (11.0, 4.4)  # inches
SCATTER_SIZE = (6.4, 5.4)
SUMMARY_SIZE = (16.0, 5.0)
TRAJECTORY_PANEL_SIZE = (5.4, 4.8)
SUMMARY_DPI = 80

Trajectory = namedtuple('Trajectory',
                        'label samplingRate xshifts yshifts accepted',
                        defaults=(None,))
Trajectory.__doc__ = """One movie's aligned shifts to plot: a label (micName,
id), the sampling rate (A/px), the x and y shifts (px) and, if known, whether
it was accepted."""


# -------------------------- Figures ------------------------------------------
def histograms_figure(arrays, rule, frameLimit, movieLimit, figure=None):
    """Histograms of max frame shift and of total travel, side by side."""
    figure = _prepared(figure, HISTOGRAMS_SIZE)
    frameAxes, travelAxes = figure.subplots(1, 2)
    _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit)
    figure.suptitle(headline(arrays, rule, frameLimit, movieLimit))
    return figure


def scatter_figure(arrays, rule, frameLimit, movieLimit, figure=None):
    """Max frame shift against total travel, one point per movie."""
    figure = _prepared(figure, SCATTER_SIZE)
    plot_scatter(figure.add_subplot(1, 1, 1), arrays, rule, frameLimit, movieLimit)
    figure.suptitle(headline(arrays, rule, frameLimit, movieLimit),
                    fontsize='medium')
    return figure


def summary_figure(arrays, rule, frameLimit, movieLimit, figure=None):
    """Both histograms and the scatter plot in one figure."""
    figure = _prepared(figure, SUMMARY_SIZE)
    frameAxes, travelAxes, scatterAxes = figure.subplots(1, 3)
    _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit)
    plot_scatter(scatterAxes, arrays, rule, frameLimit, movieLimit)
    figure.suptitle(headline(arrays, rule, frameLimit, movieLimit))
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
                     dpi=SUMMARY_DPI):
    """Write the summary figure as a PNG, replacing `path` atomically:
    readers see the previous image or the new one, never a partial file."""
    partial = path + '.partial.png'
    try:
        summary_figure(arrays, rule, frameLimit, movieLimit).savefig(partial, dpi=dpi)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


# -------------------------- Axes ---------------------------------------------
def plot_histogram(axes, values, accepted, limit=None, quantity=FRAME_LABEL):
    """Stacked histogram of one metric (A): accepted movies below, discarded
    above, the limit as a vertical line. NaN values are counted, not binned;
    values beyond the axis go into the last bin."""
    values = np.asarray(values, dtype=float)
    accepted = np.asarray(accepted, dtype=bool)
    valid = np.isfinite(values)
    axes.set_xlabel('%s (A)' % quantity)
    axes.set_ylabel('movies')
    axes.set_title('%s (%d movies)' % (quantity.capitalize(), len(values)))
    if not len(values):
        _sayNoMovies(axes)
        return
    upper = axis_limit(values[valid], limit)
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
        handles.append(axes.axvline(limit, label='limit %g A' % limit,
                                    **LIMIT_STYLE))
    beyond = int(np.sum(values[valid] > upper))
    if beyond:
        handles.append(_note('%d above %.3g A, in the last bin' % (beyond, upper)))
    invalid = int(np.sum(~valid))
    if invalid:
        handles.append(_note('invalid alignment (%d), not plotted' % invalid))
    axes.legend(handles=handles, fontsize='small', loc='upper right')


def plot_scatter(axes, arrays, rule, frameLimit, movieLimit):
    """Max frame shift (x) against total travel (y), coloured by decision,
    the region the rule rejects shaded. Points beyond the axes are drawn on
    their edge."""
    frame, travel, accepted, valid = _metrics(arrays)
    axes.set_gid(GID_SCATTER)
    axes.set_xlabel('%s (A)' % FRAME_LABEL)
    axes.set_ylabel('%s (A)' % MOVIE_LABEL)
    axes.set_title('%s vs %s (%d movies)' % (FRAME_LABEL.capitalize(),
                                             MOVIE_LABEL, len(frame)))
    if not len(frame):
        _sayNoMovies(axes)
        return
    frameLimit, movieLimit = _usedLimits(rule, frameLimit, movieLimit)
    xRange = _withMargin(axis_limit(frame[valid], frameLimit))
    yRange = _withMargin(axis_limit(travel[valid], movieLimit))
    axes.add_patch(Polygon(
        rejection_region(rule, frameLimit, movieLimit, xRange, yRange),
        closed=True, facecolor=DISCARDED_COLOR, alpha=REGION_ALPHA,
        edgecolor='none', gid=GID_REGION,
        label='rejected by rule %s' % motion.RULE_NAMES[rule]))
    if frameLimit is not None:
        axes.axvline(frameLimit, label='max frame shift limit %g A' % frameLimit,
                     **LIMIT_STYLE)
    if movieLimit is not None:
        axes.axhline(movieLimit, label='max movie shift limit %g A' % movieLimit,
                     **dict(LIMIT_STYLE, linestyle=':'))
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
        detail = '%s %.2f A, %s %.2f A' % (FRAME_LABEL, measured.max_frame_shift,
                                           MOVIE_LABEL, measured.total_travel)
    else:
        detail = '%s: %s' % (motion.MOTION_INVALID, measured.problem)
    axes.set_gid(GID_TRAJECTORY)
    axes.set_title('%s\n%s' % (trajectory.label,
                               ', '.join(filter(None, [decision, detail]))),
                   fontsize='medium')
    axes.set_xlabel('x (A)')
    axes.set_ylabel('y (A)')
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
    limits = ', '.join(['%s %g A' % (name, limit) for name, limit in
                        (('max frame shift', frameLimit),
                         ('max movie shift', movieLimit)) if limit is not None])
    rule = 'rule %s (%s)' % (motion.RULE_NAMES[rule], limits)
    if not len(frame):
        return '%s; %s' % (NO_MOVIES.capitalize(), rule)
    invalid = int(np.sum(~valid))
    return '%d movies: %d accepted, %d discarded%s; %s' % (
        len(frame), accepted.sum(), (~accepted).sum(),
        ' (%d invalid alignment)' % invalid if invalid else '', rule)


def axis_limit(values, limit=None):
    """Upper end of an axis (A) showing the bulk of the values and the limit;
    a few extreme values do not squash the rest."""
    values = np.asarray(values, dtype=float)
    candidates = [1.0]
    if limit is not None and np.isfinite(limit) and limit > 0:
        candidates.append(1.25 * limit)
    if len(values):
        candidates.append(min(1.02 * values.max(),
                              3.0 * np.percentile(values, 90)))
    return float(max(candidates))


def rejection_region(rule, frameLimit, movieLimit, xRange, yRange):
    """Vertices of the area of the (max frame shift, total travel) plane
    that the rule rejects, within the given ranges."""
    (x0, x1), (y0, y1) = xRange, yRange
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


def _drawHistograms(frameAxes, travelAxes, arrays, rule, frameLimit, movieLimit):
    frame, travel, accepted, _ = _metrics(arrays)
    frameLimit, movieLimit = _usedLimits(rule, frameLimit, movieLimit)
    frameAxes.set_gid(GID_FRAME_HISTOGRAM)
    travelAxes.set_gid(GID_TRAVEL_HISTOGRAM)
    plot_histogram(frameAxes, frame, accepted, frameLimit, FRAME_LABEL)
    plot_histogram(travelAxes, travel, accepted, movieLimit, MOVIE_LABEL)


def _withMargin(upper):
    return -0.02 * upper, upper


def _note(text):
    """A legend entry with no symbol."""
    return Patch(facecolor='none', edgecolor='none', label=text)


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
