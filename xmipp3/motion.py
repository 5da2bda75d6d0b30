"""Motion metrics of aligned movies and the rules that reject them.

Pure numpy, no Scipion imports: the protocol, the viewer and any tool call it.

A movie's global alignment gives one shift (x, y) in pixels per aligned frame.
With the sampling rate s (A/px) and the shifts p_1 .. p_n:

- frame step         d_f = s * |p_f - p_(f-1)|,  f = 2 .. n
- max frame shift    max_f d_f
- total travel       sum_f d_f   (the path length, "movie shift")

Limits are inclusive: a movie exactly at a threshold is accepted.
"""
from dataclasses import dataclass

import numpy as np

REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR = range(4)
RULE_NAMES = ('by frame', 'by whole movie', 'by frame and movie',
              'by frame or movie')

MOTION_OK = 'ok'
MOTION_ABSENT = 'no motion information'  # accepted, but flagged
MOTION_INVALID = 'invalid alignment'     # always discarded

CRITERION_FRAME = 'max frame shift'
CRITERION_MOVIE = 'total travel'


@dataclass(frozen=True)
class Motion:
    """What one movie's shifts say; metrics in A, NaN when invalid."""
    max_frame_shift: float
    total_travel: float
    n_frames: int
    quality: str = MOTION_OK
    problem: str = ''

    @property
    def is_valid(self):
        return self.quality != MOTION_INVALID


@dataclass(frozen=True)
class Decision:
    """Accepted, or discarded with a reason '<criterion>: <details>'."""
    accepted: bool
    reason: str = ''  # empty when accepted

    @property
    def criterion(self):
        """What discarded the movie, e.g. 'max frame shift'; '' if accepted."""
        return self.reason.split(':', 1)[0]


def frame_steps(xshifts, yshifts):
    """Length of the difference of consecutive shifts (same unit as input)."""
    return np.hypot(np.diff(np.asarray(xshifts, dtype=float)),
                    np.diff(np.asarray(yshifts, dtype=float)))


def _frame_range_problem(frame_range, n_frames):
    if frame_range is None:
        return ''
    try:
        first, last = (int(value) for value in frame_range)
    except (TypeError, ValueError, OverflowError):
        return 'frame range %r is not two frame numbers' % (frame_range,)
    if first < 1 or last < 1:
        return ''
    if last - first + 1 != n_frames:
        return ('aligned frames %d-%d are %d frames but there are %d shifts'
                % (first, last, last - first + 1, n_frames))
    return ''


def _invalid(n_frames, problem):
    return Motion(np.nan, np.nan, n_frames, MOTION_INVALID, problem)


def measure_motion(xshifts, yshifts, sampling_rate, frame_range=None):
    """Measure a movie's motion from its shifts (px) and sampling rate (A/px).

    frame_range: optional (first, last) aligned frames (1-based, inclusive);
    checked against the number of shifts when both are >= 1 (aligners store
    -1 or 0 when they do not say).

    Never raises on bad values; instead the result is:
    - invalid (discarded): sampling rate not a positive number, x and y of
      different lengths, no shifts, a frame range that disagrees with the
      number of shifts, NaN or infinite shifts, or motion too large to
      represent;
    - no motion information (accepted, flagged): a single frame, or all
      shifts zero (what an aligner that leaves no trajectory stores).
    """
    try:
        x = np.asarray(xshifts, dtype=float).ravel()
        y = np.asarray(yshifts, dtype=float).ravel()
    except (TypeError, ValueError, OverflowError) as error:
        return _invalid(0, 'shifts are not numbers (%s)' % error)
    n_frames = len(x)
    try:
        rate = float(sampling_rate)
    except (TypeError, ValueError, OverflowError):
        rate = np.nan
    if not (np.isfinite(rate) and rate > 0):
        return _invalid(n_frames, 'sampling rate %s is not a positive number'
                        % sampling_rate)
    if len(x) != len(y):
        return _invalid(n_frames, 'x has %d shifts but y has %d'
                        % (len(x), len(y)))
    if n_frames == 0:
        return _invalid(0, 'no shifts')
    range_problem = _frame_range_problem(frame_range, n_frames)
    if range_problem:
        return _invalid(n_frames, range_problem)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        return _invalid(n_frames, '%d of %d frames have NaN or infinite shifts'
                        % (bad.sum(), n_frames))
    if n_frames == 1:
        return Motion(0.0, 0.0, 1, MOTION_ABSENT, 'a single frame')
    if not (x.any() or y.any()):
        return Motion(0.0, 0.0, n_frames, MOTION_ABSENT, 'all shifts are zero')
    with np.errstate(over='ignore', invalid='ignore'):
        steps = frame_steps(x, y) * rate
        max_frame_shift, total_travel = steps.max(), steps.sum()
    if not (np.isfinite(max_frame_shift) and np.isfinite(total_travel)):
        return _invalid(n_frames, 'shifts too large to measure')
    return Motion(float(max_frame_shift), float(total_travel), n_frames)


def _format(angstrom):
    """Two decimals, as far as they make sense."""
    return '%.2f' % angstrom if abs(angstrom) < 1e6 else '%.3g' % angstrom


def uses_frame_limit(rule):
    return rule != REJ_MOVIE


def uses_movie_limit(rule):
    return rule != REJ_FRAME


def rejected_by_rule(max_frame_shift, total_travel, rule,
                     max_frame_limit, max_movie_limit):
    """Whether the rule rejects these metrics (A); works on arrays too."""
    over_frame = np.asarray(max_frame_shift) > max_frame_limit
    over_movie = np.asarray(total_travel) > max_movie_limit
    if rule == REJ_FRAME:
        return over_frame
    if rule == REJ_MOVIE:
        return over_movie
    if rule == REJ_AND:
        return over_frame & over_movie
    if rule == REJ_OR:
        return over_frame | over_movie
    raise ValueError('unknown rejection rule %r (expected 0-3: %s)'
                     % (rule, ', '.join(RULE_NAMES)))


def decide(motion, rule, max_frame_limit, max_movie_limit):
    """Accept or discard one measured movie, saying why when discarded."""
    if not motion.is_valid:
        return Decision(False, '%s: %s' % (MOTION_INVALID, motion.problem))
    if not rejected_by_rule(motion.max_frame_shift, motion.total_travel,
                            rule, max_frame_limit, max_movie_limit):
        return Decision(True)
    criteria, details = [], []
    if uses_frame_limit(rule) and motion.max_frame_shift > max_frame_limit:
        criteria.append(CRITERION_FRAME)
        details.append('%s A > %g A' % (_format(motion.max_frame_shift),
                                        max_frame_limit))
    if uses_movie_limit(rule) and motion.total_travel > max_movie_limit:
        criteria.append(CRITERION_MOVIE)
        details.append('%s A > %g A' % (_format(motion.total_travel),
                                        max_movie_limit))
    return Decision(False, '%s: %s (rule %s)' % (' and '.join(criteria),
                                                 ', '.join(details),
                                                 RULE_NAMES[rule]))
