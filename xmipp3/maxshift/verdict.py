"""The decision on one movie, as data, and the judge that makes it.

No Scipion imports: the judge reads a movie through its methods
(getAlignment, getSamplingRate, ...), so tests hand it items built in code.
A verdict carries its criteria (motion.Criterion); the reason users read on
items, in the table and in the log is rendered from them by
motion.render_reason(), and read back from an output item on Continue.
"""
import numpy as np

from xmipp3.maxshift import auto_threshold, frames, motion, names, table

NO_MOVIE = 'no movie'  # criterion of a micrograph whose movie never came

# The automatic thresholds' metrics -> the figure with their value
AUTO_FIGURES = {motion.CRITERION_FRAME: names.MAX_FRAME_SHIFT,
                motion.CRITERION_MOVIE: names.TOTAL_TRAVEL,
                motion.CRITERION_EARLY: names.EARLY_MOTION}
NUMERIC_FIGURES = names.MOTION_FIGURES + names.SHAPE_FIGURES
KEPT_TEXTS = {}  # the texts of a kept verdict: not kept (never written to)


class Verdict:
    """The decision on one movie: accepted, or the criteria that discard
    it; its figures (table column -> A or None, and the frame-level texts);
    a note of what could not be checked; flagged when it has no motion
    information (accepted unchecked). Not stored: how its shifts are
    numbered (layout; None for an invalid alignment and for micrographs
    without a movie) and its frame-level figures (frames, until the
    session's profile has taken them)."""
    __slots__ = ('accepted', 'criteria', 'reason', 'metrics', 'texts', 'note',
                 'flagged', 'layout', 'frames')

    def __init__(self, accepted, criteria=(), metrics=None, texts=None, note='',
                 flagged=False, layout=None, frames=None, reason=None):
        self.accepted = accepted
        self.criteria = tuple(criteria)
        # written on each item; rendered once
        self.reason = motion.render_reason(self.criteria) if reason is None else reason
        self.metrics = metrics or dict.fromkeys(f.column for f in NUMERIC_FIGURES)
        self.texts = texts or dict.fromkeys((f.column for f in names.TEXT_FIGURES), '')
        self.note = note
        self.flagged = flagged
        self.layout = layout
        self.frames = frames

    @classmethod
    def noMovie(cls, mic):
        """A micrograph whose movie never came."""
        return cls(False, [motion.Criterion(
            NO_MOVIE, problem='no input movie has id %d or micName %s'
            % (mic.getObjId(), mic.getMicName()))])

    @property
    def criterion(self):
        """What discarded the movie first (motion.criterion_key)."""
        return motion.criterion_key(self.criteria)

    @property
    def invalid(self):
        return any(c.name == motion.MOTION_INVALID for c in self.criteria)

    def also(self, decision):
        """This verdict, also discarded if another decision discards."""
        if decision.accepted:
            return self
        return Verdict(False, self.criteria + decision.criteria, self.metrics,
                       self.texts, self.note, self.flagged, self.layout, self.frames)

    def autoMetrics(self):
        """What the automatic thresholds learn from the movie, as
        auto_threshold.motion_metrics gave it when the movie was measured."""
        usable = not (self.invalid or self.flagged)
        return {criterion: self.metrics[figure.column] if usable else float('nan')
                for criterion, figure in AUTO_FIGURES.items()}

    def kept(self):
        """What a run keeps of a written movie's verdict, to split its
        micrographs and resume the automatic thresholds: the figures of
        movies only (shape, texts, layout) are left out: 20,000 kept
        verdicts take 12 MB instead of 16 MB."""
        return Verdict(self.accepted, self.criteria,
                       {figure.column: self.metrics[figure.column]
                        for figure in names.MOTION_FIGURES},
                       KEPT_TEXTS, self.note, self.flagged, reason=self.reason)

    def tableRow(self, movie):
        metrics = dict(self.metrics)
        return table.row(movie.getObjId(), movie.getMicName(),
                         metrics.pop(names.MAX_FRAME_SHIFT.column),
                         metrics.pop(names.TOTAL_TRAVEL.column), self.accepted,
                         self.reason, self.note, **metrics, **self.texts)


class MovieJudge:
    """Measures a movie and applies the fixed criteria: the rule, and the
    early and late motion limits when set (None: not used)."""

    def __init__(self, rule, maxFrameShift, maxMovieShift,
                 doseCutoff=motion.DEFAULT_CUTOFF_DOSE, maxEarly=None, maxLate=None):
        self.rule = (rule, maxFrameShift, maxMovieShift)
        self.doseCutoff, self.maxEarly, self.maxLate = doseCutoff, maxEarly, maxLate

    def limits(self):
        """The limits in force, as words: 'max frame shift 10 Å, max movie
        shift 45 Å, max early motion 2 Å (dose cutoff 4 e/Å²)'."""
        rule, frameLimit, movieLimit = self.rule
        limits = []
        if motion.uses_frame_limit(rule):
            limits.append('max frame shift %g Å' % frameLimit)
        if motion.uses_movie_limit(rule):
            limits.append('max movie shift %g Å' % movieLimit)
        for label, limit in (('max early motion', self.maxEarly),
                             ('max late motion', self.maxLate)):
            if limit is not None:
                limits.append('%s %g Å (dose cutoff %g e/Å²)'
                              % (label, limit, self.doseCutoff))
        return ', '.join(limits)

    def judge(self, movie):
        """Return the verdict and the metrics the automatic mode learns."""
        xshifts, yshifts, numbering = shiftsOf(movie)
        rate = movie.getSamplingRate()
        measured = motion.measure_motion(xshifts, yshifts, rate, **numbering)
        acquisition = movie.getAcquisition()
        firstFrame = numbering['frame_range'][0] if numbering['frame_range'] else None
        dose = motion.measure_dose_motion(
            xshifts, yshifts, rate, acquisition.getDosePerFrame(),
            acquisition.getDoseInitial(), firstFrame, self.doseCutoff,
            measured=measured)
        decision = motion.decide(measured, *self.rule)
        doseDecision = motion.decide_dose_limits(dose, self.maxEarly, self.maxLate)
        # a note of the early/late limits names unknown frame numbers already
        notes = [doseDecision.note or _framesNote(measured.layout)]
        if measured.quality == motion.MOTION_ABSENT:
            notes.insert(0, '%s: %s' % (measured.quality, measured.problem))
        figures = self._frames(measured, rate, decision.accepted)
        shape = figures.shape if figures else frames.Shape(*[np.nan] * 4, '')
        metrics = {names.MAX_FRAME_SHIFT.column: measured.max_frame_shift,
                   names.TOTAL_TRAVEL.column: measured.total_travel,
                   names.EARLY_MOTION.column: dose.early,
                   names.LATE_MOTION.column: dose.late,
                   names.FIRST_THIRD_STEP.column: dose.first_third_mean_step}
        metrics.update({names.STRAIGHTNESS.column: shape.straightness,
                        names.DRIFT_DIRECTION.column: shape.direction_deg,
                        names.FIRST_THIRD_SHARE.column: shape.first_third_share,
                        names.LARGEST_STEP_SHARE.column: shape.largest_step_share})
        texts = {names.SHAPE.column: shape.shape,
                 names.JUMP_FRAMES.column:
                     ' '.join(map(str, figures.jump_frames)) if figures else '',
                 names.PASSING_FRAMES.column: '%d-%d' % figures.passing_range
                 if figures and figures.passing_range else ''}
        verdict = Verdict(decision.accepted, decision.criteria,
                          {k: _finiteOrNone(v) for k, v in metrics.items()}, texts,
                          '; '.join(n for n in notes if n),
                          measured.quality == motion.MOTION_ABSENT,
                          measured.layout, figures)
        if measured.is_valid:
            verdict = verdict.also(doseDecision)
        return verdict, auto_threshold.motion_metrics(measured, dose)

    def verdictOf(self, item):
        """The verdict written on an output movie (or micrograph): its
        figures, note and criteria as stored; what is not stored (flag,
        layout, frame-level figures) measured again from its shifts."""
        metrics = {figure.column: getattr(item, figure.attribute).get()
                   if hasattr(item, figure.attribute) else None
                   for figure in NUMERIC_FIGURES}
        texts = {figure.column: getattr(item, figure.attribute).get() or ''
                 if hasattr(item, figure.attribute) else ''
                 for figure in names.TEXT_FIGURES}
        xshifts, yshifts, numbering = shiftsOf(item)
        rate = item.getSamplingRate()
        measured = motion.measure_motion(xshifts, yshifts, rate, **numbering)
        return Verdict(item.isEnabled(),
                       motion.read_reason(getattr(item, names.ATTR_DISCARD_REASON).get()
                                          or ''),
                       metrics, texts, getattr(item, names.ATTR_MOTION_NOTE).get() or '',
                       measured.quality == motion.MOTION_ABSENT, measured.layout,
                       self._frames(measured, rate, item.isEnabled()))

    def _frames(self, measured, rate, accepted):
        """The frame-level figures of a measured movie; None when its shifts
        cannot be measured."""
        if not measured.is_valid:
            return None
        x, y = (shifts * rate for shifts in measured.shifts)
        return frames.movie_frames(x, y, measured.layout.first_frame, accepted,
                                   *self.rule)


def shiftsOf(movie):
    """A movie's stored shifts, and what measure_motion() needs to know of
    their numbering: the aligned frame range, EER or not, and the movie's
    last frame (0 when unknown)."""
    alignment = movie.getAlignment() if movie.hasAlignment() else None
    xshifts, yshifts = alignment.getShifts() if alignment else ([], [])
    _, lastFrame, _ = movie.getFramesRange()
    return xshifts, yshifts, {
        'frame_range': alignment.getRange() if alignment else None,
        'eer': (movie.getFileName() or '').lower().endswith('.eer'),
        'movie_frames': lastFrame or 0}


def _framesNote(layout):
    """Why a movie's shifts have no frame numbers, or ''."""
    if layout and layout.frames_unknown:
        return '%s: %s' % (motion.FRAMES_UNKNOWN, layout.frames_unknown)
    return ''


def _finiteOrNone(value):
    return None if value is None or value != value else value  # NaN -> NULL
