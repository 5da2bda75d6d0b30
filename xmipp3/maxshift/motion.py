"""Motion metrics of aligned movies and the rules that reject them.

Pure numpy, no Scipion imports: the protocol, the viewer and any tool call it.

A movie's global alignment gives one shift (x, y) in pixels per aligned frame.
With the sampling rate s (A/px) and the shifts p_1 .. p_n:

- frame step         d_f = s * |p_f - p_(f-1)|,  f = 2 .. n
- max frame shift    max_f d_f
- total travel       sum_f d_f   (the path length, "movie shift")
- early / late motion, first-third mean step: measure_dose_motion()

Max frame shift and total travel do not depend on how the aligner numbered
the frames; the figures that do are left unavailable when the numbering is
unknown (xmipp3.maxshift.layout).

Limits are inclusive: a movie exactly at a threshold is accepted.
"""
import itertools
import math
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Optional, Tuple

import numpy as np

from xmipp3.maxshift import names
from xmipp3.maxshift.layout import ShiftLayout, aligned_range

REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR = range(4)
RULE_NAMES = ('by frame', 'by whole movie', 'by frame and movie',
              'by frame or movie')

MOTION_OK = 'ok'
MOTION_ABSENT = 'no motion information'  # accepted, but flagged
MOTION_INVALID = 'invalid alignment'     # always discarded

CRITERION_FRAME = names.MAX_FRAME_SHIFT.label
CRITERION_MOVIE = names.TOTAL_TRAVEL.label
AUTOMATIC_SUFFIX = '(automatic threshold)'  # ends an automatic threshold's reason


@dataclass(frozen=True)
class Motion:
    """What one movie's shifts say; metrics in A, NaN when invalid.
    layout: how the shifts are numbered (None when invalid)."""
    max_frame_shift: float
    total_travel: float
    n_frames: int
    quality: str = MOTION_OK
    problem: str = ''
    layout: Optional[ShiftLayout] = None
    max_step_frame: Optional[int] = None  # frame of the largest step, if numbered
    # the frame steps (A) when measured, for measure_dose_motion()
    steps: Optional[np.ndarray] = dataclass_field(default=None, repr=False, compare=False)
    # the shifts (x, y) as float arrays (px, maybe sharing the arrays given)
    # unless invalid: a caller that needs them need not convert them again
    shifts: Optional[tuple] = dataclass_field(default=None, repr=False, compare=False)

    @property
    def is_valid(self):
        return self.quality != MOTION_INVALID


@dataclass(frozen=True)
class Criterion:
    """One reason to discard a movie, as data: which criterion, the movie's
    value and the limit it is over (A), the rule of a fixed frame or movie
    limit (None for the others), whether the limit is an automatic
    threshold, the frame of the largest step when known; for a movie that
    cannot be measured (or a micrograph without a movie), the problem."""
    name: str
    value: float = float('nan')
    limit: float = float('nan')
    rule: Optional[int] = None
    automatic: bool = False
    frame: Optional[int] = None
    problem: str = ''

    @property
    def source(self):
        """Criteria from one source (a rule, the dose limits, the automatic
        thresholds, a problem) are worded together."""
        return (self.rule, self.automatic, self.problem)


@dataclass(frozen=True)
class Decision:
    """Accepted, or discarded by criteria; note: what could not be checked."""
    accepted: bool
    criteria: Tuple[Criterion, ...] = ()
    note: str = ''

    @property
    def reason(self):
        """'<criteria>: <details>', '' when accepted (render_reason)."""
        return render_reason(self.criteria)

    @property
    def criterion(self):
        """What discarded the movie first (criterion_key); '' if accepted."""
        return criterion_key(self.criteria)


def criterion_key(criteria):
    """What the summary counts a discard under: the criteria of its first
    source, e.g. 'max frame shift and total travel', 'total travel
    (automatic)'; '' when there are none."""
    if not criteria:
        return ''
    _, first = next(itertools.groupby(criteria, key=lambda c: c.source))
    return ' and '.join(c.name for c in first) + (
        ' (automatic)' if criteria[0].automatic else '')


def render_reason(criteria):
    """The words for a discard, the only place they are made: criteria of
    one source share a sentence, sources are separated by '; '. E.g.
    'max frame shift and total travel: 12.77 Å > 10 Å at frame 2, 61.04 Å
    > 45 Å (rule by frame or movie); total travel: 61.04 Å > 52.10 Å
    (automatic threshold)'. read_reason() reads it back."""
    sentences = []
    for _, group in itertools.groupby(criteria, key=lambda c: c.source):
        group = list(group)
        if group[0].problem:
            sentences.append('%s: %s' % (group[0].name, group[0].problem))
            continue
        details = ', '.join(_detail(criterion) for criterion in group)
        sentence = '%s: %s' % (' and '.join(c.name for c in group), details)
        if group[0].automatic:
            sentence += ' ' + AUTOMATIC_SUFFIX
        elif group[0].rule is not None:
            sentence += ' (rule %s)' % RULE_NAMES[group[0].rule]
        sentences.append(sentence)
    return '; '.join(sentences)


def _detail(criterion):
    limit = (format_angstrom(criterion.limit) if criterion.automatic
             else '%g' % criterion.limit)
    return '%s Å > %s Å%s' % (format_angstrom(criterion.value), limit,
                              ' at frame %d' % criterion.frame
                              if criterion.frame else '')


_SENTENCE = re.compile(r'(?P<names>[^:]+): (?P<details>.*?)'
                       r'(?: \(rule (?P<rule>[^)]+)\)| (?P<auto>%s))?$'
                       % re.escape(AUTOMATIC_SUFFIX))
_DETAIL = re.compile(r'(?P<value>\S+) Å > (?P<limit>\S+) Å(?: at frame (?P<frame>\d+))?$')


def read_reason(reason):
    """The criteria of a reason written by render_reason() (on an output
    item, when a run is continued): values and limits as rounded in the
    text, so that render_reason(read_reason(text)) == text."""
    criteria = []
    for sentence in filter(None, reason.split('; ')):
        match = _SENTENCE.match(sentence)
        if match is None:  # a problem's text that holds '; '
            last = criteria.pop()
            criteria.append(Criterion(last.name, problem=last.problem + '; ' + sentence))
            continue
        names = match['names'].split(' and ')
        details = match['details'].split(', ')
        parsed = [_DETAIL.match(detail) for detail in details]
        if len(names) != len(details) or not all(parsed):
            criteria.append(Criterion(match['names'], problem=match['details']))
            continue
        rule = RULE_NAMES.index(match['rule']) if match['rule'] else None
        criteria += [Criterion(name, float(detail['value']), float(detail['limit']),
                               rule, bool(match['auto']),
                               int(detail['frame']) if detail['frame'] else None)
                     for name, detail in zip(names, parsed)]
    return tuple(criteria)


def frame_steps(xshifts, yshifts):
    """Length of the difference of consecutive shifts (same unit as input)."""
    x, y = np.asarray(xshifts, dtype=float), np.asarray(yshifts, dtype=float)
    # np.diff (along the last axis), without its overhead
    return np.hypot(x[..., 1:] - x[..., :-1], y[..., 1:] - y[..., :-1])


def _floats(values):
    """values as a flat float array. A list subclass (pyworkflow's CsvList,
    what MovieAlignment.getShifts() returns) is copied to a list first:
    numpy converts a plain list three times faster."""
    if isinstance(values, list) and type(values) is not list:
        values = list(values)
    return np.asarray(values, dtype=float).ravel()


def _invalid(n_frames, problem):
    return Motion(np.nan, np.nan, n_frames, MOTION_INVALID, problem)


def measure_motion(xshifts, yshifts, sampling_rate, frame_range=None,
                   eer=False, movie_frames=0):
    """Measure a movie's motion from its shifts (px) and sampling rate (A/px).

    frame_range (first, last aligned frames, 1-based), eer (an EER movie,
    its shifts per fraction) and movie_frames (0: unknown) only describe
    the numbering (the result's layout): max frame shift and total travel
    come from the shifts as stored, whatever the range says.

    Never raises on bad values; instead the result is:
    - invalid (discarded): sampling rate not a positive number, x and y of
      different lengths, no shifts, NaN or infinite shifts, or motion too
      large to represent;
    - no motion information (accepted, flagged): a single frame, or all
      shifts zero (what an aligner that leaves no trajectory stores).
    """
    try:
        x, y = _floats(xshifts), _floats(yshifts)
    except (TypeError, ValueError, OverflowError) as error:
        return _invalid(0, 'shifts are not numbers (%s)' % error)
    n_frames = len(x)
    try:
        rate = float(sampling_rate)
    except (TypeError, ValueError, OverflowError):
        rate = np.nan
    if not (math.isfinite(rate) and rate > 0):
        return _invalid(n_frames, 'sampling rate %s is not a positive number'
                        % sampling_rate)
    if len(x) != len(y):
        return _invalid(n_frames, 'x has %d shifts but y has %d'
                        % (len(x), len(y)))
    if n_frames == 0:
        return _invalid(0, 'no shifts')
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        return _invalid(n_frames, '%d of %d frames have NaN or infinite shifts'
                        % (bad.sum(), n_frames))
    first, last = aligned_range(frame_range) or (0, 0)
    all_zero = n_frames > 1 and not (x.any() or y.any())
    layout = ShiftLayout(n_frames, first, last, all_zero, bool(eer),
                         int(movie_frames or 0))
    if n_frames == 1:
        return Motion(0.0, 0.0, 1, MOTION_ABSENT, 'a single frame', layout,
                      shifts=(x, y))
    if all_zero:
        return Motion(0.0, 0.0, n_frames, MOTION_ABSENT, 'all shifts are zero',
                      layout, shifts=(x, y))
    with np.errstate(over='ignore', invalid='ignore'):
        steps = frame_steps(x, y) * rate
        max_frame_shift, total_travel = steps.max(), steps.sum()
    max_frame_shift, total_travel = float(max_frame_shift), float(total_travel)
    if not (math.isfinite(max_frame_shift) and math.isfinite(total_travel)):
        return _invalid(n_frames, 'shifts too large to measure')
    # a step belongs to the later of its two frames
    first_frame = layout.first_frame
    max_step_frame = first_frame + int(steps.argmax()) + 1 if first_frame else None
    return Motion(max_frame_shift, total_travel, n_frames, layout=layout,
                  max_step_frame=max_step_frame, steps=steps, shifts=(x, y))


def format_angstrom(angstrom):
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
    """Accept or discard one measured movie, with the criteria it fails."""
    if not motion.is_valid:
        return Decision(False, (Criterion(MOTION_INVALID, problem=motion.problem),))
    if not rejected_by_rule(motion.max_frame_shift, motion.total_travel,
                            rule, max_frame_limit, max_movie_limit):
        return Decision(True)
    criteria = []
    if uses_frame_limit(rule) and motion.max_frame_shift > max_frame_limit:
        criteria.append(Criterion(CRITERION_FRAME, motion.max_frame_shift,
                                  max_frame_limit, rule,
                                  frame=motion.max_step_frame))
    if uses_movie_limit(rule) and motion.total_travel > max_movie_limit:
        criteria.append(Criterion(CRITERION_MOVIE, motion.total_travel,
                                  max_movie_limit, rule))
    return Decision(False, tuple(criteria))


# --------------------------------------------------------------------------
# Dose-aware motion: early and late motion, first-third mean step
# --------------------------------------------------------------------------

CRITERION_EARLY = names.EARLY_MOTION.label
CRITERION_LATE = names.LATE_MOTION.label
DOSE_ABSENT = 'no dose information'  # early/late motion unavailable
FRAMES_UNKNOWN = 'frame numbers unknown'  # early/late motion unavailable
DEFAULT_CUTOFF_DOSE = 4.0  # e/A2, RELION's default (--dose_motionstats_cutoff)
_FRAME_TOLERANCE = 1e-9    # relative; absorbs rounding of the dose arithmetic


@dataclass(frozen=True)
class DoseMotion:
    """Early and late motion and first-third mean step of one movie, in A.

    early, late: NaN when unavailable (available is False and problem says
    why: 'no dose information: ...', 'frame numbers unknown: ...' or
    'invalid alignment: ...').
    first_third_mean_step: needs no dose; NaN only for an invalid alignment.
    """
    early: float
    late: float
    first_third_mean_step: float
    available: bool
    problem: str = ''


def first_third_frames(n_frames):
    """Number m of aligned frames that make a movie's first third.

    m = ceil(n / 3), but at least 2 (so that it holds one step) and at most
    n. The first-third steps are d_2 .. d_m: one step for n <= 6, two for
    n = 7 .. 9, seven for n = 24.
    """
    return min(int(n_frames), max(2, -(-int(n_frames) // 3)))


def _number(value):
    """value as a float, or NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


def _dose_problem(dose_per_frame, initial_dose, first_frame):
    dose, initial = _number(dose_per_frame), _number(initial_dose)
    if not (math.isfinite(dose) and dose > 0):
        return ('%s: dose per frame %s is not a positive number'
                % (DOSE_ABSENT, dose_per_frame))
    if not (math.isfinite(initial) and initial >= 0):
        return ('%s: initial dose %s is not a number >= 0'
                % (DOSE_ABSENT, initial_dose))
    frame = _number(first_frame)
    if not (math.isfinite(frame) and frame >= 1 and frame == int(frame)):
        return ('%s: first aligned frame %s is not a frame number >= 1'
                % (DOSE_ABSENT, first_frame))
    return ''


def early_frame_limit(dose_per_frame, initial_dose=0.0, first_frame=1,
                      cutoff_dose=DEFAULT_CUTOFF_DOSE):
    """RELION's c = (cutoff_dose - pre_exposure) / dose_per_frame.

    pre_exposure = initial_dose + (first_frame - 1) * dose_per_frame is the
    dose the aligned range starts with. Step d_f (f = 2 .. n, frame numbers
    of the aligned range) is early when f <= c. Expects valid dose values.
    """
    pre_exposure = initial_dose + (first_frame - 1) * dose_per_frame
    return (cutoff_dose - pre_exposure) / dose_per_frame


def measure_dose_motion(xshifts, yshifts, sampling_rate, dose_per_frame,
                        initial_dose=0.0, first_frame=1,
                        cutoff_dose=DEFAULT_CUTOFF_DOSE, measured=None):
    """Early and late motion (RELION) and first-third mean step (Warp), A.

    With the frame steps d_f = s * |p_f - p_(f-1)| (f = 2 .. n, frame 1 the
    first aligned frame) and c from early_frame_limit():

    - early = sum of d_f over f <= c (a frame exactly at c counts as early,
      within a relative 1e-9 that absorbs rounding), late = the other steps;
      early + late = total travel. c < 2 makes all motion late; c >= n all
      early.
    - first_third_mean_step = mean of d_2 .. d_m, m = first_third_frames(n).

    dose_per_frame (e/A2), initial_dose (e/A2, before frame 1 of the movie)
    and first_frame (first aligned frame of the movie, 1-based) locate the
    aligned range in dose. They are never guessed: a dose per frame that is
    missing, None, NaN or <= 0, an initial dose that is not a number >= 0,
    or a first frame that is not an integer >= 1 make early and late NaN
    (available False, problem 'no dose information: ...'); the first-third
    mean step is still given. cutoff_dose (e/A2) is a setting, so a
    non-finite one raises ValueError.

    The frame numbers must be known too: a measured layout whose frame
    range disagrees with the shifts makes early and late NaN (problem
    'frame numbers unknown: ...'), and so does an EER movie (problem 'no
    dose information: ...'): its shifts are per fraction, a group of EER
    frames whose size the alignment does not store, while the dose is per
    EER frame.

    An alignment that measure_motion() judges invalid gives NaN for all
    three (problem 'invalid alignment: ...'). A movie without motion
    information (a single frame, all shifts zero) measures 0.0, as in
    measure_motion(). Never raises on bad movie values.

    measured: this movie's measure_motion() result (same shifts and
    sampling rate) when the caller already has it: it is not measured
    again, and its steps are reused.
    """
    cutoff = _number(cutoff_dose)
    if not math.isfinite(cutoff):
        raise ValueError('cutoff dose %r is not a finite number'
                         % (cutoff_dose,))
    motion = measured or measure_motion(xshifts, yshifts, sampling_rate)
    if not motion.is_valid:
        return DoseMotion(np.nan, np.nan, np.nan, False,
                          '%s: %s' % (MOTION_INVALID, motion.problem))
    steps = motion.steps
    if steps is None:  # no motion information: measure_motion() kept no steps
        steps = frame_steps(_floats(xshifts), _floats(yshifts))
        steps *= float(sampling_rate)
    n_frames = motion.n_frames
    # the mean of d_2 .. d_m, as ndarray.mean() sums and divides
    n_first = first_third_frames(n_frames) - 1
    first_third = (float(np.add.reduce(steps[:n_first])) / n_first
                   if n_frames > 1 else 0.0)
    layout = motion.layout
    if layout and layout.frames_unknown:
        problem = '%s: %s' % (FRAMES_UNKNOWN, layout.frames_unknown)
    elif layout and layout.eer:
        problem = ('%s: EER fractions, whose dose the alignment does not store'
                   % DOSE_ABSENT)
    else:
        problem = _dose_problem(dose_per_frame, initial_dose, first_frame)
    if problem:
        return DoseMotion(np.nan, np.nan, first_third, False, problem)
    limit = early_frame_limit(float(dose_per_frame), float(initial_dose),
                              int(float(first_frame)), cutoff)
    # the early steps are a prefix: d_2 .. d_k with k the last frame <= c
    n_early = _early_steps(limit + _FRAME_TOLERANCE * max(1.0, abs(limit)),
                           n_frames)
    # a running sum never decreases, so early never decreases with c
    early = float(np.cumsum(steps)[n_early - 1]) if n_early else 0.0
    return DoseMotion(early, float(steps[n_early:].sum()), first_third, True)


def _early_steps(limit, n_frames):
    """How many of the frames 2 .. n_frames are <= limit (none when NaN)."""
    if not limit >= 2:
        return 0
    return n_frames - 1 if limit >= n_frames else math.floor(limit) - 1


def _limit(value, name):
    if value is None:
        return None
    limit = _number(value)
    if not (math.isfinite(limit) and limit >= 0):
        raise ValueError('%s %r is not None or a number >= 0' % (name, value))
    return limit


def decide_dose_limits(dose_motion, max_early=None, max_late=None):
    """Discard a movie whose early or late motion (A) is over its limit.

    Each limit is off when None (the default), inclusive otherwise; a
    limit that is not None or a number >= 0 raises ValueError. The reason
    reads like decide()'s, without a rule: 'early motion: 5.20 Å > 4 Å',
    'early motion and late motion: 5.20 Å > 4 Å, 31.00 Å > 20 Å'.

    A movie whose early/late motion is unavailable (no dose information,
    invalid alignment) is NOT discarded by these limits: it is accepted with
    an empty reason and note 'early/late motion not checked: <problem>'
    (only when a limit is set). An invalid alignment is discarded by
    decide() anyway.
    """
    limits = [(name, limit, field) for name, limit, field in (
        (CRITERION_EARLY, _limit(max_early, 'max early motion'), 'early'),
        (CRITERION_LATE, _limit(max_late, 'max late motion'), 'late'))
        if limit is not None]
    if not limits:
        return Decision(True)
    if not dose_motion.available:
        return Decision(True, note='early/late motion not checked: %s'
                        % dose_motion.problem)
    criteria = tuple(Criterion(name, getattr(dose_motion, field), limit)
                     for name, limit, field in limits
                     if getattr(dose_motion, field) > limit)
    return Decision(not criteria, criteria)
