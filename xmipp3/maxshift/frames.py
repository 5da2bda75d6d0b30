"""Which frames moved, how a trajectory is shaped, and the session's
per-frame drift profile. Pure numpy, no Scipion imports.

Frames are numbered as in the movie (1 = its first frame). A trajectory is
the shifts of consecutive frames `frames[0] .. frames[-1]`; the step
`d_f = |p_f - p_(f-1)|` belongs to frame f, so a movie aligned from frame 3
has its first step at frame 4.

Shape of one trajectory (positions in A, path = total travel):

- straightness       |p_last - p_first| / path, 0 (returns) .. 1 (straight)
- direction          angle of p_last - p_first, degrees counter-clockwise
                     from +x, in [0, 360)
- first-third share  share of the path in the steps of the first third of
                     the frames (steps 1 .. ceil(k/3) of k)
- largest-step share the largest step / path

Shape classes, tried in this order (SHAPE_* names):

- still          no motion (path 0)
- too short      fewer than 3 steps: too few to tell
- single jump    one step carries the motion: at least JUMP_TYPICAL_FACTOR
                 times the movie's typical step (the median of its steps
                 other than the two largest) and JUMP_PATH_SHARE of the path,
                 either alone (JUMP_ALONE_FACTOR times the next largest
                 step) or as a frame that jumps away and back (the next step
                 returns to within half the jump)
- early motion   the mean step of the first third of the steps is at least
                 EARLY_FACTOR times that of the last third (beam-induced
                 motion that dies down)
- steady drift   straightness at least STEADY_STRAIGHTNESS
- irregular      anything else

On the bundled real trajectories these give: the 49 RELION tutorial movies
early motion; the failed high-tilt alignment (a 755 A jump away and back)
the only single jump; the other tilt movies 155 early motion, 38 irregular,
10 steady drift; the 13 facility movies 11 early motion, 2 irregular.
"""
import csv
import math
import os
from dataclasses import dataclass

import numpy as np

from xmipp3.maxshift.motion import REJ_AND, REJ_FRAME, REJ_MOVIE, frame_steps

SHAPE_STILL = 'still'
SHAPE_SHORT = 'too short'
SHAPE_JUMP = 'single jump'
SHAPE_EARLY = 'early motion'
SHAPE_STEADY = 'steady drift'
SHAPE_IRREGULAR = 'irregular'
SHAPES = (SHAPE_STILL, SHAPE_SHORT, SHAPE_JUMP, SHAPE_EARLY, SHAPE_STEADY,
          SHAPE_IRREGULAR)
JUMP_TYPICAL_FACTOR = 5.0
JUMP_PATH_SHARE = 0.3
JUMP_ALONE_FACTOR = 3.0
EARLY_FACTOR = 1.3
STEADY_STRAIGHTNESS = 0.8

# A passing range must keep at least this share of the aligned frames: with
# fewer, the sum loses too much signal to be worth re-aligning (and a rule
# would pass any movie cut to a couple of frames).
DEFAULT_MIN_PASSING_SHARE = 0.5


def jump_frames(steps, frames, limit):
    """Frame numbers whose step exceeds limit (A): steps[i] is the step of
    frames[i + 1]. Empty when limit is None or nothing exceeds it."""
    steps = np.asarray(steps, dtype=float)
    if limit is None or len(steps) == 0:
        return ()
    over = np.flatnonzero(steps > limit)
    return tuple(int(frames[i + 1]) for i in over)


def _longest_window(size, ok_length):
    """(start, stop) of size steps, the longest window with ok_length(start,
    stop) true, where shrinking a true window keeps it true."""
    best, start = (0, 0), 0
    for stop in range(1, size + 1):
        while start < stop and not ok_length(start, stop):
            start += 1
        if stop - start > best[1] - best[0]:
            best = (start, stop)
    return best


def passing_range(steps, frames, rule, frame_limit, movie_limit,
                  min_share=DEFAULT_MIN_PASSING_SHARE):
    """The largest range of consecutive frames (first, last) whose own steps
    and path the rule would accept, keeping at least min_share of the
    frames; None when there is none. Ties go to the earliest range.

    Only the limits the rule uses count; a range of frames a..b has the
    steps of frames a+1 .. b.
    """
    steps = np.asarray(steps, dtype=float)
    n_frames = len(steps) + 1
    min_frames = max(2, math.ceil(min_share * n_frames))
    if n_frames < min_frames or not np.isfinite(steps).all():
        return None
    # The windows read single values: Python lists, faster than numpy here
    over = ~(steps <= (np.inf if frame_limit is None else frame_limit))
    over_before = [0] + np.cumsum(over).tolist()
    cumulative = [0.0] + np.cumsum(steps).tolist()
    movie_max = np.inf if movie_limit is None else movie_limit

    def frame_ok(start, stop):  # no step over the frame limit
        return over_before[stop] == over_before[start]

    def movie_ok(start, stop):  # the steps' sum within the movie limit
        return cumulative[stop] - cumulative[start] <= movie_max

    def both_ok(start, stop):
        return frame_ok(start, stop) and movie_ok(start, stop)
    size = len(steps)
    if rule == REJ_FRAME:
        candidates = [_longest_window(size, frame_ok)]
    elif rule == REJ_MOVIE:
        candidates = [_longest_window(size, movie_ok)]
    elif rule == REJ_AND:
        candidates = [_longest_window(size, frame_ok), _longest_window(size, movie_ok)]
    else:
        candidates = [_longest_window(size, both_ok)]
    start, stop = max(candidates, key=lambda window: (window[1] - window[0], -window[0]))
    if stop - start + 1 < min_frames:
        return None
    return int(frames[start]), int(frames[stop])


@dataclass(frozen=True)
class Shape:
    """How one trajectory moved; NaN where undefined (no motion)."""
    straightness: float
    direction_deg: float
    first_third_share: float
    largest_step_share: float
    shape: str


def trajectory_shape(x, y, steps=None):
    """Shape of a trajectory from its positions x, y (A), frame by frame
    (steps: their frame_steps, when already computed)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if steps is None:
        steps = frame_steps(x, y)
    return _shape(x, y, steps, _largest(steps))


def _largest(steps):
    """The largest step, NaN when there are none (or one is NaN)."""
    return float(steps.max()) if len(steps) else np.nan


def _shape(x, y, steps, largest):
    """trajectory_shape() of float arrays, with their steps' largest."""
    path = float(steps.sum())
    if not (path > 0 and math.isfinite(path)):
        return Shape(np.nan, np.nan, np.nan, np.nan, SHAPE_STILL)
    dx, dy = float(x[-1] - x[0]), float(y[-1] - y[0])
    straightness = min(1.0, math.hypot(dx, dy) / path)
    direction = math.degrees(math.atan2(dy, dx)) % 360.0 if (dx or dy) else np.nan
    third = -(-len(steps) // 3)
    first_third = float(steps[:third].sum())
    return Shape(straightness, direction, first_third / path, largest / path,
                 _shape_class(x, y, steps, path, straightness, third, largest,
                              first_third))


def _shape_class(x, y, steps, path, straightness, third, largest, first_third):
    """largest: the largest step; first_third: the sum of the first third's."""
    if len(steps) < 3:
        return SHAPE_SHORT
    if largest >= JUMP_PATH_SHARE * path:  # else no single step carries the motion
        order = np.argsort(steps)[::-1]
        top, second = int(order[0]), int(order[1])
        if largest >= JUMP_TYPICAL_FACTOR * float(np.median(steps[order[2:]])):
            alone = largest >= JUMP_ALONE_FACTOR * float(steps[second])
            first, last = sorted((top, second))
            away_and_back = last == first + 1 and math.hypot(
                x[last + 1] - x[first], y[last + 1] - y[first]) <= 0.5 * largest
            if alone or away_and_back:
                return SHAPE_JUMP
    if first_third / third >= EARLY_FACTOR * float(steps[-third:].sum()) / third:
        return SHAPE_EARLY
    if straightness >= STEADY_STRAIGHTNESS:
        return SHAPE_STEADY
    return SHAPE_IRREGULAR


# Per-frame step histograms: log-spaced bins from 1e-3 A to 1e5 A,
# STEP_BINS_PER_DECADE a decade (quantiles within 1.8 %), plus a bin for
# smaller steps (and zeros) and one for larger.
STEP_BINS_PER_DECADE = 64
_STEP_EDGES = 10.0 ** np.arange(-3.0, 5.0 + 0.5 / STEP_BINS_PER_DECADE,
                                1.0 / STEP_BINS_PER_DECADE)
_STEP_CENTRES = np.concatenate([[0.0], np.sqrt(_STEP_EDGES[:-1] * _STEP_EDGES[1:]),
                                [_STEP_EDGES[-1]]])
# The recommended first frame is where the session's median step stays
# within this factor of the late-frame level (see FrameProfile.recommend).
# In the bundled sessions of 49 and more movies the late frames' medians
# vary up to 1.22 times their level: 2.5 stays clear of that noise. It
# recommends frame 1 for the RELION tutorial (its early medians reach 2.02
# times its 0.41 A level: nothing to drop) and frame 2 for the EMPIAR-10164
# tilt movies (frame 1 carries 20-26 % of their median path).
SETTLED_FACTOR = 2.5
# A frame enters the profile's recommendation when at least this share of
# the movies have it (frames only a few long movies have are noise).
PROFILE_MIN_SHARE = 0.5
# The profile counts the steps of this many movies at once (numpy's call
# overhead, paid per movie otherwise, outweighs counting a few steps).
PROFILE_BATCH = 256


@dataclass(frozen=True)
class FrameStats:
    """Steps of one frame number over a group of movies, in A."""
    frame: int
    movies: int
    median: float
    p90: float


@dataclass(frozen=True)
class Recommendation:
    """Where to align from, from the accepted movies' median steps."""
    first_frame: int      # align from this frame
    first_seen: int       # the first frame with steps in the profile
    moving_share: float   # share of the median path in the frames dropped
    late_level: float     # median step of the last third of the frames, A
    factor: float


class FrameProfile:
    """The session's steps frame by frame, for accepted and discarded movies.

    Each movie adds its steps to fixed histograms, one per frame number and
    decision (counted PROFILE_BATCH movies at a time): the cost of a movie
    and of reading the profile does not grow with the movies seen.
    Quantiles come from the histograms (within 1.8 %).
    """

    def __init__(self):
        # accepted -> [first frame number, counts: frames x bins]
        self._counts = {True: [None, None], False: [None, None]}
        # accepted -> [(frame numbers, bins) of a movie's steps] not counted yet
        self._pending = {True: [], False: []}

    def add(self, steps, frames, accepted):
        """Add one movie: steps[i] is the step of frames[i + 1] (A)."""
        steps = np.asarray(steps, dtype=float)
        stepFrames = np.array(frames[1:], dtype=int)  # a copy: kept until counted
        known = np.isfinite(steps)
        if not known.all():
            steps, stepFrames = steps[known], stepFrames[known]
        if not len(steps):
            return
        pending = self._pending[bool(accepted)]
        pending.append((stepFrames, _STEP_EDGES.searchsorted(steps, side='right')))
        if len(pending) >= PROFILE_BATCH:
            self._count(bool(accepted))

    def _count(self, accepted):
        """Add the pending movies' steps to the histograms."""
        pending = self._pending[accepted]
        if not pending:
            return
        stepFrames = np.concatenate([movieFrames for movieFrames, _ in pending])
        bins = np.concatenate([movieBins for _, movieBins in pending])
        pending.clear()
        entry = self._counts[accepted]
        first, last = int(stepFrames.min()), int(stepFrames.max())
        if entry[1] is None:
            entry[:] = [first, np.zeros((last - first + 1, len(_STEP_CENTRES)), np.int64)]
        elif first < entry[0] or last >= entry[0] + len(entry[1]):
            start = min(first, entry[0])
            grown = np.zeros((max(last, entry[0] + len(entry[1]) - 1) - start + 1,
                              len(_STEP_CENTRES)), np.int64)
            grown[entry[0] - start:entry[0] - start + len(entry[1])] = entry[1]
            entry[:] = [start, grown]
        np.add.at(entry[1], (stepFrames - entry[0], bins), 1)

    def stats(self, accepted):
        """FrameStats of each frame number, in frame order."""
        self._count(bool(accepted))
        first, counts = self._counts[bool(accepted)]
        if counts is None:
            return []
        return [self._frame_stats(first + row, counts[row])
                for row in range(len(counts)) if counts[row].any()]

    @staticmethod
    def _frame_stats(frame, counts):
        cumulative = np.cumsum(counts)
        total = int(cumulative[-1])

        def quantile(q):
            return float(_STEP_CENTRES[np.searchsorted(cumulative, q * total)])
        return FrameStats(frame, total, quantile(0.5), quantile(0.9))

    def recommend(self, factor=SETTLED_FACTOR):
        """recommend() of the accepted movies' steps."""
        return recommend(self.stats(True), factor)


def recommend(stats, factor=SETTLED_FACTOR):
    """The first frame after which the median step (FrameStats of accepted
    movies, in frame order) stays within factor times the late-frame level
    (the median of the last third of the frames' medians), looking for
    larger steps in the first half of the frames only; None without movies."""
    if not stats:
        return None
    most = max(s.movies for s in stats)
    stats = [s for s in stats if s.movies >= PROFILE_MIN_SHARE * most]
    medians = np.array([s.median for s in stats])
    third = max(1, int(np.ceil(len(stats) / 3)))
    late = float(np.median(medians[-third:]))
    # only the first half: a late spike is not motion to align away
    over = np.flatnonzero(medians[:max(1, len(stats) // 2)] > factor * late)
    # a step belongs to its frame: the last step over the level moves
    # that frame, so alignment starts there
    first_frame = stats[over[-1]].frame if len(over) else stats[0].frame - 1
    first_seen = stats[0].frame - 1
    dropped = sum(s.median for s in stats if s.frame <= first_frame)
    path = float(medians.sum())
    return Recommendation(first_frame, first_seen,
                          dropped / path if path > 0 else 0.0, late, factor)


# Directions are binned every DIRECTION_BIN_DEG degrees for the polar plot.
DIRECTION_BIN_DEG = 10
# Movies drift consistently when the mean resultant length R of their drift
# directions is at least this, with CONSISTENT_MIN_MOVIES or more: for random
# directions R is about 1/sqrt(n), and Rayleigh's test puts R >= 0.5 with 20
# movies at p < 0.01.
CONSISTENT_R = 0.5
CONSISTENT_MIN_MOVIES = 20


class DriftDirections:
    """Net drift directions of the movies: a histogram and their mean
    resultant length, at a constant cost per movie."""

    def __init__(self):
        self.counts = np.zeros(360 // DIRECTION_BIN_DEG, dtype=np.int64)
        self._sum = [0.0, 0.0]  # of the unit vectors (cos, sin)

    @property
    def movies(self):
        return int(self.counts.sum())

    def add(self, direction_deg):
        if direction_deg is None or not math.isfinite(direction_deg):
            return
        angle = math.radians(direction_deg)
        self._sum[0] += math.cos(angle)
        self._sum[1] += math.sin(angle)
        self.counts[int(direction_deg % 360.0) // DIRECTION_BIN_DEG] += 1

    def resultant_length(self):
        """R in [0, 1]: 1 when every movie drifts the same way."""
        return float(np.hypot(*self._sum)) / self.movies if self.movies else 0.0

    def mean_direction(self):
        return float(np.degrees(np.arctan2(self._sum[1], self._sum[0])) % 360.0)

    def consistent(self):
        return (self.movies >= CONSISTENT_MIN_MOVIES
                and self.resultant_length() >= CONSISTENT_R)


@dataclass(frozen=True)
class MovieFrames:
    """The frame-level figures of one movie: its steps (A) and their frame
    numbers (frames[0] is the first shift's frame; None when the aligner's
    numbering is unknown), the frames whose step is over the max frame
    shift, the largest range of frames that passes the rule (None when the
    movie passes or none does), and its shape."""
    steps: np.ndarray
    frames: object
    jump_frames: tuple
    passing_range: object
    shape: Shape

    @property
    def only_first_frames_fail(self):
        """Discarded, but would pass aligned from a frame of its first third
        to its end."""
        if self.passing_range is None or self.frames is None:
            return False
        first, last = self.passing_range
        third = self.frames[0] + int(np.ceil(len(self.frames) / 3))
        return bool(last == self.frames[-1] and self.frames[0] < first <= third)


def movie_frames(x, y, first_frame, accepted, rule, frame_limit, movie_limit,
                 min_share=DEFAULT_MIN_PASSING_SHARE):
    """Frame-level figures of a measured movie from its positions x, y (A)
    and the frame number of its first shift (None: unknown). Jump frames and
    the passing range need frame numbers; the shape does not."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    steps = frame_steps(x, y)
    largest = _largest(steps)
    frames = None if first_frame is None else np.arange(first_frame, first_frame + len(x))
    jumps = ()  # looked for only when the largest step is not within the limit
    if frames is not None and frame_limit is not None and not largest <= frame_limit:
        jumps = jump_frames(steps, frames, frame_limit)
    passing = None
    if not accepted and frames is not None:
        passing = passing_range(steps, frames, rule, frame_limit, movie_limit, min_share)
    return MovieFrames(steps, frames, jumps, passing, _shape(x, y, steps, largest))


# ------------------------------------------------------ session record, text
PROFILE_COLUMNS = ('frame', 'accepted_movies', 'accepted_median_A', 'accepted_p90_A',
                   'discarded_movies', 'discarded_median_A', 'discarded_p90_A')


def write_profile(path, profile):
    """extra/frame_profile.csv: per frame number, the accepted and the
    discarded movies' median and 90th percentile step (A); atomic."""
    byFrame = {}
    for accepted, prefix in ((True, 'accepted'), (False, 'discarded')):
        for stats in profile.stats(accepted):
            row = byFrame.setdefault(stats.frame, dict.fromkeys(PROFILE_COLUMNS, ''))
            row.update({'frame': stats.frame, prefix + '_movies': stats.movies,
                        prefix + '_median_A': '%.4g' % stats.median,
                        prefix + '_p90_A': '%.4g' % stats.p90})
    partial = path + '.partial'
    with open(partial, 'w', newline='', encoding='utf-8') as profileFile:
        writer = csv.DictWriter(profileFile, PROFILE_COLUMNS)
        writer.writeheader()
        writer.writerows(byFrame[frame] for frame in sorted(byFrame))
    os.replace(partial, path)


def read_profile(path):
    """The FrameStats written by write_profile: {True: accepted, False:
    discarded}, each in frame order; empty lists when there is no file."""
    profile = {True: [], False: []}
    if not path or not os.path.exists(path):
        return profile
    with open(path, newline='', encoding='utf-8') as profileFile:
        for row in csv.DictReader(profileFile):
            for accepted, prefix in ((True, 'accepted'), (False, 'discarded')):
                if row[prefix + '_movies']:
                    profile[accepted].append(FrameStats(
                        int(row['frame']), int(row[prefix + '_movies']),
                        float(row[prefix + '_median_A']), float(row[prefix + '_p90_A'])))
    return profile


def session_record(profile, directions, shapes, only_first_frames):
    """What the summary says of the frames, as plain data (JSON)."""
    recommendation = profile.recommend()
    return {'recommendation': recommendation and {
                'first_frame': recommendation.first_frame,
                'first_seen': recommendation.first_seen,
                'moving_share': recommendation.moving_share,
                'late_level': recommendation.late_level,
                'factor': recommendation.factor},
            'directions': {'movies': directions.movies,
                           'resultant_length': directions.resultant_length(),
                           'mean_direction': directions.mean_direction(),
                           'consistent': directions.consistent()},
            'shapes': [[decision, shape, count]
                       for (decision, shape), count in sorted(shapes.items())],
            'only_first_frames': only_first_frames}


def session_lines(record):
    """The summary's lines about the frames, from session_record()."""
    lines = []
    recommendation = record.get('recommendation')
    if recommendation:
        first, seen = recommendation['first_frame'], recommendation['first_seen']
        settled = ('the median step stays within %g x the late frames\' %.2f Å'
                   % (recommendation['factor'], recommendation['late_level']))
        if first > seen:
            dropped = ('frame %d' % seen if first - 1 == seen
                       else 'frames %d-%d' % (seen, first - 1))
            lines.append('Frame profile: %s carry %.0f %% of the motion; align from '
                         'frame %d (from there %s)'
                         % (dropped, 100 * recommendation['moving_share'], first, settled))
        else:
            lines.append('Frame profile: no frames to drop (from frame %d %s)'
                         % (seen, settled))
    count = record.get('only_first_frames')
    if count:
        lines.append('%d discarded movie%s only because of %s first frames: aligned '
                     'from the first of %s passing frames, %s would pass'
                     % (count, ' fails' if count == 1 else 's fail',
                        'its' if count == 1 else 'their', 'its' if count == 1 else 'their',
                        'it' if count == 1 else 'they'))
    for decision in ('accepted', 'discarded'):
        counts = [(shape, count) for which, shape, count in record.get('shapes', [])
                  if which == decision]
        if counts:
            lines.append('Shapes of the %s movies: %s' % (decision, ', '.join(
                '%s %d' % item for item in sorted(counts, key=lambda item: -item[1]))))
    directions = record.get('directions') or {}
    if directions.get('consistent'):
        lines.append('Movies drift consistently towards %.0f deg (R = %.2f over %d '
                     'movies): stage drift?' % (directions['mean_direction'],
                                                directions['resultant_length'],
                                                directions['movies']))
    return lines
