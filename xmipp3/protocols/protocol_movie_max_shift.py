"""Movie maxshift: split aligned movies, and their micrographs, by how much
the movies moved."""
import functools
import inspect
import itertools
import json
import os
import time
from collections import Counter
from datetime import datetime

import numpy as np
import psutil

import pwem.objects as emobj
from pwem.protocols import ProtProcessMovies
import pyworkflow.object as pwobj
from pyworkflow import PROD
from pyworkflow.protocol import (LEVEL_ADVANCED, STEPS_SERIAL, Protocol,
                                 getProtocolFromDb)
import pyworkflow.protocol.params as params

from xmipp3.maxshift import auto_threshold, frames, motion, plots, table, upstream
from xmipp3.maxshift.layout import LayoutTally
from xmipp3.maxshift.streaming import (UNREADABLE_SET_ERRORS, FaultInjector,
                                        NewRowsReader, OutputSets, diskFullCause,
                                        firstItem, retryingLocks)

OUTPUT_MOVIES = 'outputMovies'
OUTPUT_MOVIES_DISCARDED = 'outputMoviesDiscarded'
OUTPUT_MICS = 'outputMicrographs'
OUTPUT_MICS_DISCARDED = 'outputMicrographsDiscarded'
OUTPUT_MICS_DW = 'outputMicrographsDoseWeighted'
OUTPUT_MICS_DW_DISCARDED = 'outputMicrographsDoseWeightedDiscarded'

# Micrograph outputs of the alignment protocol -> (accepted, discarded) here
MIC_SPLITS = {OUTPUT_MICS: (OUTPUT_MICS, OUTPUT_MICS_DISCARDED),
              OUTPUT_MICS_DW: (OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED)}
MOVIE_SPLIT = (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

OUTPUT_FILES = {OUTPUT_MOVIES: 'movies_accepted.sqlite',
                OUTPUT_MOVIES_DISCARDED: 'movies_discarded.sqlite',
                OUTPUT_MICS: 'micrographs_accepted.sqlite',
                OUTPUT_MICS_DISCARDED: 'micrographs_discarded.sqlite',
                OUTPUT_MICS_DW: 'micrographs_dw_accepted.sqlite',
                OUTPUT_MICS_DW_DISCARDED: 'micrographs_dw_discarded.sqlite'}

# Item attributes (columns in Scipion's set viewer), in A, and the table
# column of each metric; dose-aware metrics are empty without dose information
ATTR_MAX_FRAME_SHIFT = '_xmipp_maxFrameShift'
ATTR_TOTAL_TRAVEL = '_xmipp_totalTravel'
ATTR_EARLY_MOTION = '_xmipp_earlyMotion'
ATTR_LATE_MOTION = '_xmipp_lateMotion'
ATTR_FIRST_THIRD_STEP = '_xmipp_firstThirdMeanStep'
# The trajectory's shape (xmipp3.maxshift.frames): shares 0-1, degrees
ATTR_STRAIGHTNESS = '_xmipp_straightness'
ATTR_DRIFT_DIRECTION = '_xmipp_driftDirection'
ATTR_FIRST_THIRD_SHARE = '_xmipp_firstThirdShare'
ATTR_LARGEST_STEP_SHARE = '_xmipp_largestStepShare'
# Metrics on movies and micrographs
METRIC_ATTRIBUTES = {'maxFrameShift_A': ATTR_MAX_FRAME_SHIFT,
                     'totalTravel_A': ATTR_TOTAL_TRAVEL,
                     'earlyMotion_A': ATTR_EARLY_MOTION,
                     'lateMotion_A': ATTR_LATE_MOTION,
                     'firstThirdMeanStep_A': ATTR_FIRST_THIRD_STEP}
# ... and the frame-level figures, on movies only (the micrographs' own
# sets stay as small as they were: writing is the run's largest cost)
SHAPE_ATTRIBUTES = {'straightness': ATTR_STRAIGHTNESS,
                    'driftDirection_deg': ATTR_DRIFT_DIRECTION,
                    'firstThirdShare': ATTR_FIRST_THIRD_SHARE,
                    'largestStepShare': ATTR_LARGEST_STEP_SHARE}
# The shape class, the frames whose step is over the max frame shift ('2 17')
# and, for a discarded movie, the frames that would pass the rule ('3-40')
ATTR_SHAPE = '_xmipp_shape'
ATTR_JUMP_FRAMES = '_xmipp_jumpFrames'
ATTR_PASSING_FRAMES = '_xmipp_passingFrames'
TEXT_ATTRIBUTES = {'shape': ATTR_SHAPE, 'jumpFrames': ATTR_JUMP_FRAMES,
                   'passingFrames': ATTR_PASSING_FRAMES}
FRAME_PROFILE_FILE = 'frame_profile.csv'
# The automatic thresholds' metrics -> the table column with their value
AUTO_METRIC_COLUMNS = {motion.CRITERION_FRAME: 'maxFrameShift_A',
                       motion.CRITERION_MOVIE: 'totalTravel_A',
                       motion.CRITERION_EARLY: 'earlyMotion_A'}
ATTR_DISCARD_REASON = '_xmipp_discardReason'  # '' when accepted
ATTR_MOTION_NOTE = '_xmipp_motionNote'  # what could not be checked, and why
AUTO_STATE_FILE = 'auto_thresholds.json'

NO_MOVIE = 'no movie'  # criterion of a micrograph whose movie never came
LISTED_NAMES = 10  # names listed in logs and the summary before "and N more"
# For the reliability tests: '<point>[:<n>]' kills the protocol process the
# n-th time it reaches 'evaluating' (a movie classified), 'writing' (an
# output committed), 'table' (before the CSV is appended) or 'between-polls'.
KILL_AT_VARIABLE = 'XMIPP3_MAXSHIFT_KILL_AT'
# ... and '<point>:<n>[:<times>]' makes its writes fail with ENOSPC there.
DISK_FULL_AT_VARIABLE = 'XMIPP3_MAXSHIFT_DISK_FULL_AT'
# When a write fails for want of space, the run waits with this back-off (s)
# and sets up again from its outputs; after this long it fails with a
# message (Continue resumes). The variable overrides it, for the tests.
DISK_FULL_DELAYS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
DISK_FULL_GIVE_UP_SECONDS = 3600.0
DISK_FULL_GIVE_UP_VARIABLE = 'XMIPP3_MAXSHIFT_DISK_FULL_GIVE_UP'
# The summary plot is redrawn after a poll at most this often (and at the end)
SUMMARY_PLOT_SECONDS = 30.0


class Verdict:
    """The decision on one movie, as stored on its items and in the table;
    how its shifts are numbered (layout, not stored: None for an invalid
    alignment and for micrographs without a movie) and its frame-level
    figures (frames, until the session's profile has taken them)."""
    __slots__ = ('accepted', 'metrics', 'reason', 'note', 'layout', 'texts',
                 'frames')

    def __init__(self, accepted, metrics, reason='', note='', layout=None,
                 texts=None, frames=None):
        self.accepted = accepted
        self.metrics = metrics  # table column -> A, or None
        self.reason = reason
        self.note = note
        self.layout = layout
        self.texts = texts or dict.fromkeys(TEXT_ATTRIBUTES, '')  # column -> str
        self.frames = frames  # frames.MovieFrames, or None

    @classmethod
    def fromItem(cls, movie, rule, frameLimit, movieLimit):
        """The verdict written on an output movie, its frame-level figures
        measured again with the run's rule and limits."""
        metrics = {column: getattr(movie, attribute).get()
                   if hasattr(movie, attribute) else None
                   for column, attribute in {**METRIC_ATTRIBUTES,
                                             **SHAPE_ATTRIBUTES}.items()}
        texts = {column: getattr(movie, attribute).get() or ''
                 if hasattr(movie, attribute) else ''
                 for column, attribute in TEXT_ATTRIBUTES.items()}
        xshifts, yshifts, numbering = shiftsOf(movie)
        rate = movie.getSamplingRate()
        measured = motion.measure_motion(xshifts, yshifts, rate, **numbering)
        return cls(movie.isEnabled(), metrics,
                   getattr(movie, ATTR_DISCARD_REASON).get() or '',
                   getattr(movie, ATTR_MOTION_NOTE).get() or '', measured.layout,
                   texts, _movieFrames(measured, xshifts, yshifts, rate,
                                       movie.isEnabled(), rule, frameLimit, movieLimit))

    def also(self, decision):
        """This verdict, also discarded if another decision discards."""
        if decision.accepted:
            return self
        return Verdict(False, self.metrics,
                       '; '.join(r for r in (self.reason, decision.reason) if r),
                       self.note, self.layout, self.texts, self.frames)

    @property
    def criterion(self):
        """What discarded the movie first, e.g. 'total travel (automatic)'."""
        first = self.reason.split('; ', 1)[0]
        criterion = first.split(':', 1)[0]
        return (criterion + ' (automatic)'
                if first.endswith(auto_threshold.REASON_SUFFIX) else criterion)

    def autoMetrics(self):
        """What the automatic thresholds learn from the movie, as
        auto_threshold.motion_metrics gave it when the movie was measured."""
        usable = (self.criterion != motion.MOTION_INVALID
                  and not self.note.startswith(motion.MOTION_ABSENT))
        return {criterion: self.metrics[column] if usable else float('nan')
                for criterion, column in AUTO_METRIC_COLUMNS.items()}

    def tableRow(self, movie):
        metrics = dict(self.metrics)
        return table.row(movie.getObjId(), movie.getMicName(),
                         metrics.pop('maxFrameShift_A'),
                         metrics.pop('totalTravel_A'), self.accepted,
                         self.reason, self.note, **metrics, **self.texts)

    def annotate(self, item, isMovie=True):
        """Write the decision and its metrics on a movie or micrograph (the
        frame-level figures on movies only)."""
        item.setEnabled(self.accepted)
        for column, attribute in METRIC_ATTRIBUTES.items():
            setattr(item, attribute, pwobj.Float(self.metrics[column]))
        if isMovie:
            for column, attribute in SHAPE_ATTRIBUTES.items():
                setattr(item, attribute, pwobj.Float(self.metrics[column]))
            for column, attribute in TEXT_ATTRIBUTES.items():
                setattr(item, attribute, pwobj.String(self.texts[column]))
        setattr(item, ATTR_DISCARD_REASON, pwobj.String(self.reason))
        setattr(item, ATTR_MOTION_NOTE, pwobj.String(self.note))


class MovieJudge:
    """Measures a movie and applies the protocol's fixed criteria: the rule,
    and the early and late motion limits when set."""

    def __init__(self, rule, maxFrameShift, maxMovieShift, doseCutoff=4.0,
                 maxEarly=None, maxLate=None):
        self.rule = (rule, maxFrameShift, maxMovieShift)
        self.doseCutoff, self.maxEarly, self.maxLate = doseCutoff, maxEarly, maxLate

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
        figures = _movieFrames(measured, xshifts, yshifts, rate, decision.accepted,
                               *self.rule)
        shape = figures.shape if figures else frames.Shape(*[np.nan] * 4, '')
        metrics = {'maxFrameShift_A': measured.max_frame_shift,
                   'totalTravel_A': measured.total_travel,
                   'earlyMotion_A': dose.early, 'lateMotion_A': dose.late,
                   'firstThirdMeanStep_A': dose.first_third_mean_step,
                   'straightness': shape.straightness,
                   'driftDirection_deg': shape.direction_deg,
                   'firstThirdShare': shape.first_third_share,
                   'largestStepShare': shape.largest_step_share}
        texts = {'shape': shape.shape,
                 'jumpFrames': ' '.join(map(str, figures.jump_frames)) if figures else '',
                 'passingFrames': '%d-%d' % figures.passing_range
                 if figures and figures.passing_range else ''}
        verdict = Verdict(decision.accepted,
                          {k: _finiteOrNone(v) for k, v in metrics.items()},
                          decision.reason, '; '.join(n for n in notes if n),
                          measured.layout, texts, figures)
        if measured.is_valid:
            verdict = verdict.also(doseDecision)
        return verdict, auto_threshold.motion_metrics(measured, dose)


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


def _movieFrames(measured, xshifts, yshifts, rate, accepted, rule=motion.REJ_OR,
                 frameLimit=None, movieLimit=None):
    """The frame-level figures of a measured movie; None when its shifts
    cannot be measured. The passing range needs the rule's limits."""
    if not measured.is_valid:
        return None
    x, y = (np.asarray(shifts, dtype=float) * rate for shifts in (xshifts, yshifts))
    return frames.movie_frames(x, y, measured.layout.first_frame, accepted,
                               rule, frameLimit, movieLimit)


def _framesNote(layout):
    """Why a movie's shifts have no frame numbers, or ''."""
    if layout and layout.frames_unknown:
        return '%s: %s' % (motion.FRAMES_UNKNOWN, layout.frames_unknown)
    return ''


def _finiteOrNone(value):
    return None if value is None or value != value else value  # NaN -> NULL


class XmippProtMovieMaxShift(ProtProcessMovies):
    """Discards aligned movies that moved too much, and splits the micrographs
    made from them the same way.

    It reads the shifts stored by the alignment protocol and measures the
    largest frame-to-frame shift and the total travel (path length), both
    in Å. Each output item carries its metrics and, when discarded, the
    reason. Works in streaming."""
    _label = 'movie maxshift'
    _devStatus = PROD
    _references = ['delaRosaTrevin2016']
    stepsExecutionMode = STEPS_SERIAL

    REJ_FRAME = motion.REJ_FRAME
    REJ_MOVIE = motion.REJ_MOVIE
    REJ_AND = motion.REJ_AND
    REJ_OR = motion.REJ_OR
    REJ_TYPES = list(motion.RULE_NAMES)

    _possibleOutputs = {OUTPUT_MOVIES: emobj.SetOfMovies,
                        OUTPUT_MOVIES_DISCARDED: emobj.SetOfMovies,
                        OUTPUT_MICS: emobj.SetOfMicrographs,
                        OUTPUT_MICS_DISCARDED: emobj.SetOfMicrographs,
                        OUTPUT_MICS_DW: emobj.SetOfMicrographs,
                        OUTPUT_MICS_DW_DISCARDED: emobj.SetOfMicrographs}

    def __init__(self, **kwargs):
        ProtProcessMovies.__init__(self, **kwargs)
        self.motionStats = pwobj.String()  # JSON counts for the summary
        self.upstreamWaiting = pwobj.String()  # the summary's waiting sentence

    # -------------------------- DEFINE param functions ----------------------
    def _defineParams(self, form):
        ProtProcessMovies._defineParams(self, form)
        form.addParam('rejType', params.EnumParam, choices=self.REJ_TYPES,
                      default=self.REJ_OR, label='Rejection type',
                      display=params.EnumParam.DISPLAY_COMBO,
                      help='Which limits discard a movie:\n'
                           'by frame: a frame-to-frame shift over the max '
                           'frame shift.\n'
                           'by whole movie: a total travel over the max '
                           'movie shift.\n'
                           'by frame and movie: both over their limits.\n'
                           'by frame or movie: either over its limit.\n'
                           'Limits are inclusive: a movie exactly at a limit '
                           'is accepted.')
        form.addParam('maxFrameShift', params.FloatParam, default=10.0,
                      condition='rejType != %d' % self.REJ_MOVIE,
                      label='Max frame shift (Å)',
                      help='Largest allowed shift between consecutive frames.')
        form.addParam('maxMovieShift', params.FloatParam, default=45.0,
                      condition='rejType != %d' % self.REJ_FRAME,
                      label='Max movie shift (Å)',
                      help='Largest allowed total travel: the sum of all '
                           'frame-to-frame shifts.')
        form.addParam('pollInterval', params.FloatParam, default=5.0,
                      expertLevel=LEVEL_ADVANCED,
                      label='Polling interval (s)',
                      help='How often a streaming input is checked for new '
                           'movies and micrographs.')
        form.addParam('upstreamGrace', params.FloatParam, allowsNull=True,
                      expertLevel=LEVEL_ADVANCED,
                      label='Give up on a stopped input protocol after (s)',
                      help='Empty or 0 (default): when the protocol producing '
                           'the movies fails, is aborted or its process dies, '
                           'the outputs stay open and this protocol waits for '
                           'it to be continued, however long, then classifies '
                           'the rest; stop this protocol to close the outputs '
                           'with what it classified. A number of seconds: '
                           'once the producer has been down that long, classify '
                           'what it produced, close the outputs and finish; '
                           'if it is continued later, this protocol does not '
                           'follow it.')

        form.addSection(label='Optional criteria')
        form.addParam('doseCutoff', params.FloatParam,
                      default=motion.DEFAULT_CUTOFF_DOSE,
                      label='Early motion dose cutoff (e/Å²)',
                      help='Early motion (RELION\'s definition) is the motion '
                           'of the frames until this accumulated dose, late '
                           'motion the rest. Needs the dose per frame in the '
                           'movies\' acquisition; without it both are '
                           'reported as unavailable.')
        form.addParam('maxEarlyMotion', params.FloatParam, allowsNull=True,
                      label='Max early motion (Å)',
                      help='Empty: not used. A movie over it is discarded, in '
                           'addition to the rejection type. Movies without '
                           'dose information are not checked (noted).')
        form.addParam('maxLateMotion', params.FloatParam, allowsNull=True,
                      label='Max late motion (Å)',
                      help='Empty: not used. As the max early motion.')
        # A section of its own: with the optional criteria, its fields would
        # not fit in the form without scrolling.
        form.addSection(label='Automatic thresholds')
        form.addParam('useAutoThresholds', params.BooleanParam, default=False,
                      label='Automatic thresholds?',
                      help='Learn what is normal for this session and also '
                           'discard outliers: after a warm-up, a movie is '
                           'discarded when its max frame shift or total '
                           'travel exceeds median + k sigma (sigma from the '
                           'MAD) of the movies accepted so far. The warm-up '
                           'movies are judged when it ends. Meant for single-'
                           'particle sessions (one population of movies).')
        form.addParam('autoWarmup', params.IntParam,
                      default=auto_threshold.DEFAULT_WARMUP,
                      condition='useAutoThresholds',
                      label='Warm-up (movies)',
                      help='Movies seen before the first automatic decision.')
        form.addParam('autoK', params.FloatParam, default=auto_threshold.DEFAULT_K,
                      condition='useAutoThresholds', label='Outlier factor k',
                      help='Thresholds are median + k sigma: larger k '
                           'discards fewer movies.')

    # -------------------------- INSERT steps functions ----------------------
    def _insertAllSteps(self):
        # The launch time makes "Continue" run the step again: it resumes
        # from what the outputs already hold.
        self._insertFunctionStep(self.classifyMoviesStep, str(datetime.now()),
                                 needsGPU=False)

    def _stepsCheck(self):
        pass  # classifyMoviesStep polls the input itself

    # -------------------------- STEPS functions -----------------------------
    def classifyMoviesStep(self, launchTime):
        self._faults = FaultInjector(KILL_AT_VARIABLE)
        self._diskFaults = FaultInjector(DISK_FULL_AT_VARIABLE, diskFull=True)
        self._diskFullGiveUp = float(os.environ.get(DISK_FULL_GIVE_UP_VARIABLE)
                                     or DISK_FULL_GIVE_UP_SECONDS)
        self._diskFull = None  # (since, attempts) while writes fail for space
        self._committedAuto = None  # automatic thresholds as last committed
        self._judge = MovieJudge(*self._rule(), doseCutoff=self.doseCutoff.get(),
                                 maxEarly=self.maxEarlyMotion.get(),
                                 maxLate=self.maxLateMotion.get())
        self._producer = _Producer(self)
        self._watch = upstream.UpstreamWatch(
            self._producer.name(), self.pollInterval.get(),
            grace=self.upstreamGrace.get())
        try:
            self._classifyUntilTheEnd()
        except BaseException:
            # Uncommitted items hold their files' write locks, and pyworkflow
            # now closes the outputs in this process: let go of them first.
            if hasattr(self, '_outputSets'):
                self._outputSets.discard()
            raise
        self.info('Finished: %s' % self._statsLine())

    def _classifyUntilTheEnd(self):
        try:
            self._startFromOutputs()
        except Exception as error:  # a disk already full at the start
            if diskFullCause(error) is None:
                raise
            self._waitForDiskSpace(error)
        for poll in itertools.count(1):
            started = time.time()
            try:
                final = self._poll(poll, started)
            except Exception as error:
                if diskFullCause(error) is None:
                    raise
                self._waitForDiskSpace(error)
                continue
            if self._diskFull is not None:
                self.info('Disk space is back: the outputs are written again '
                          'after %.0f s (%d retries); %d movies classified, '
                          'none lost or written twice.'
                          % (time.time() - self._diskFull[0],
                             self._diskFull[1], len(self._verdicts)))
                self._diskFull = None
            if final:
                return
            self._reached('between-polls')
            self._sleepUntilNextPoll(started)

    def _startFromOutputs(self):
        """Set up from what the outputs hold: at the start of a run (a
        Continue resumes this way) and after a full disk, when nothing
        not committed can be trusted."""
        self._outputSets = OutputSets(self, OUTPUT_FILES, self._possibleOutputs,
                                      onDefined=self._outputDefined)
        self._verdicts = {}  # movie id -> Verdict
        self._verdictsByMicName = {}
        self._stats = Counter()
        self._flagged = []
        self._layouts = LayoutTally()  # how the input's shifts are numbered
        self._profile = frames.FrameProfile()  # the session's steps per frame
        self._directions = frames.DriftDirections()
        self._shapes = Counter()  # (decision, shape class) -> movies
        self._onlyFirstFrames = 0  # discarded movies that pass without their first frames
        self._moviesWithMic = {name: set() for name in MIC_SPLITS}
        self._newRows = []  # table rows of movies not yet committed
        self._plotted = None  # when the summary plot was last drawn ...
        self._plottedMovies = None  # ... and with how many movies
        self._auto = None  # AutoThresholds when used
        self._held = {}  # movie id -> (copy, verdict) awaiting the automatic decision
        self._resume()
        self._outputSets.reopen()
        self._movies = NewRowsReader(emobj.SetOfMovies,
                                     self.inputMovies.get().getFileName(),
                                     seenIds=self._verdicts, log=self.warning)
        self._micSources = {}  # alignment output name -> NewRowsReader
        self._pendingMics = {name: [] for name in MIC_SPLITS}  # movie not seen yet

    def _poll(self, poll, started):
        """Read and classify what is new, commit it; close the outputs when
        the input has ended for good. Return whether it has."""
        # Observed before reading: once the producer has finished, what is
        # read next is all there is.
        state, description = self._producer.observe()
        decision = upstream.Decision(False, [], '')
        if state is not None:
            decision = self._watch.update(state, description, time.time())
        for level, text in decision.messages:
            (self.warning if level == 'warning' else self.info)(text)
        self._setWaiting(decision.waiting)
        newMovies, newMics = self._readAndClassify(self._producer)
        final = decision.final
        if state is None:  # no producer protocol: the input set says
            final = self._movies.closed and all(
                source.closed for source in self._micSources.values())
        if final:
            self._closeOutputs()
        else:
            self._commit()
        if final or newMovies or newMics or not decision.waiting:
            self.info('Poll %d%s: %d new movies, %d new micrographs, %d movies '
                      'classified, %.3f s%s' % (
                          poll, ' (final)' if final else '', newMovies, newMics,
                          len(self._verdicts), time.time() - started,
                          '; ' + self._auto.describe() if self._auto else ''))
        if final or self._plotted is None or (
                time.time() - self._plotted >= SUMMARY_PLOT_SECONDS
                and len(self._verdicts) != self._plottedMovies):
            self._plotSummary()
        return final

    def _sleepUntilNextPoll(self, started):
        """On a fixed schedule: a poll's work does not delay the next one.
        While a producer that is down is waited for, polls may be rarer, but
        the producer is looked at every polling interval, and the next poll
        comes at once when it changes."""
        interval = self.pollInterval.get()
        delay = self._watch.pollDelay(time.time())
        while True:
            remaining = started + delay - time.time()
            if remaining <= 0:
                return
            time.sleep(min(remaining, interval))
            if delay > interval and self._producer.changed():
                return

    def _setWaiting(self, sentence):
        """Keep the summary's waiting sentence ('' when not waiting)."""
        if (self.upstreamWaiting.get() or '') != sentence:
            self.upstreamWaiting.set(sentence)
            self._store(self.upstreamWaiting)

    def _waitForDiskSpace(self, error):
        """A write failed for want of space: wait with a back-off and set up
        again from the outputs; after DISK_FULL_GIVE_UP_SECONDS, fail with a
        message saying what to do."""
        while True:
            self._outputSets.discard()
            since, attempts = self._diskFull or (time.time(), 0)
            delay = DISK_FULL_DELAYS[min(attempts, len(DISK_FULL_DELAYS) - 1)]
            cause = diskFullCause(error)
            if time.time() - since + delay > self._diskFullGiveUp:
                raise RuntimeError(
                    'No space left to write the outputs in %s for %.0f s (%s). '
                    'Nothing classified is lost: free some space, then '
                    'Continue this protocol; it resumes from its outputs.'
                    % (self._getPath(), time.time() - since, cause)) from error
            self.warning('No space left to write the outputs (%s): nothing '
                         'is lost, what was not committed is taken again from '
                         'the input. Trying again in %g s (retry %d; giving up '
                         'after %.0f s).' % (cause, delay, attempts + 1,
                                            self._diskFullGiveUp))
            time.sleep(delay)
            self._diskFull = (since, attempts + 1)
            try:
                self._startFromOutputs()
                return
            except Exception as again:
                if diskFullCause(again) is None:
                    raise
                error = again

    def _readAndClassify(self, producer):
        for name, fileName in producer.micrographFiles().items():
            if name not in self._micSources:
                self.info('Splitting %s of the alignment protocol too' % name)
                self._micSources[name] = NewRowsReader(
                    emobj.SetOfMicrographs, fileName,
                    seenIds=self._micsWritten[name], log=self.warning)
        newMovies = self._read(self._movies, 'movies', self._classifyMovie)
        newMics = 0
        for name, source in self._micSources.items():
            waiting = self._splitPending(name, source)
            newMics += self._read(source, name, functools.partial(
                self._splitOrWait, name, source, waiting))
            self._pendingMics[name] = waiting
        return newMovies, newMics

    def _read(self, reader, what, handle):
        """Hand each new item of an input to handle(); return how many."""
        handled = 0

        def handleAll():
            nonlocal handled
            for item in reader.iterNew():
                handle(item)
                handled += 1
        try:
            retryingLocks(handleAll, 'Reading the input %s' % what, self.warning)
        except UNREADABLE_SET_ERRORS as error:
            raise RuntimeError('Cannot read the input %s from %s: %s'
                               % (what, reader.fileName, error)) from error
        return handled

    # -------------------------- UTILS functions -----------------------------
    def _rule(self):
        return (self.rejType.get(), self.maxFrameShift.get(),
                self.maxMovieShift.get())

    def _resume(self):
        """Take back the decisions a previous run already wrote."""
        for name in MOVIE_SPLIT:
            for movie in self._outputSets.iterWritten(name):
                self._remember(movie, Verdict.fromItem(movie, *self._rule()))
        self._micsWritten = {name: set() for name in MIC_SPLITS}
        for source, split in MIC_SPLITS.items():
            for name in split:
                for mic in self._outputSets.iterWritten(name):
                    self._micsWritten[source].add(mic.getObjId())
                    self._moviesWithMic[source].add(self._movieIdOf(mic))
        if self.useAutoThresholds.get():
            self._auto = self._syncedAutoThresholds(self._loadAutoThresholds())
        # The table is rewritten from the outputs, so rows of a run killed
        # between committing the outputs and the table are neither lost nor
        # repeated.
        table.write_table(self.getMotionTablePath(), self._newRows)
        self._newRows = []
        if self._verdicts:
            self.info('Resuming: %d movies were already classified'
                      % len(self._verdicts))

    def _syncedAutoThresholds(self, auto):
        """The automatic-threshold state, rebuilt from the outputs when it
        is behind them (a run that ended between committing the outputs and
        saving the state): the classified movies are added again in id
        order, their decisions kept."""
        decided = auto.n_added - len(auto.pending_keys)
        if decided >= len(self._verdicts):
            return auto
        rebuilt = auto_threshold.AutoThresholds(
            warmup=auto.warmup, k=auto.k, metrics=auto.metrics,
            reservoir_size=auto.reservoir_size, seed=auto.seed)
        for movieId in sorted(self._verdicts):
            rebuilt.add(movieId, self._verdicts[movieId].autoMetrics())
        self.info('The automatic-threshold state had seen %d of the %d '
                  'classified movies: rebuilt from the outputs (%s)'
                  % (decided, len(self._verdicts), rebuilt.describe()))
        return rebuilt

    def _remember(self, movie, verdict):
        self._verdicts[movie.getObjId()] = verdict
        self._newRows.append(verdict.tableRow(movie))
        self._verdictsByMicName[movie.getMicName()] = (movie.getObjId(), verdict)
        self._stats['processed'] += 1
        self._stats['accepted' if verdict.accepted else verdict.criterion] += 1
        if verdict.note.startswith(motion.MOTION_ABSENT):
            self._flagged.append(movie.getMicName())
        figures = verdict.frames
        if figures is not None:
            if figures.frames is not None:
                self._profile.add(figures.steps, figures.frames, verdict.accepted)
            self._directions.add(figures.shape.direction_deg)
            self._onlyFirstFrames += figures.only_first_frames_fail
            verdict.frames = None  # taken: not kept per movie
        self._shapes[table.ACCEPTED if verdict.accepted else table.DISCARDED,
                     verdict.texts['shape'] or 'unknown'] += 1
        if verdict.layout and self._layouts.add(verdict.layout):
            self.info(' '.join(filter(None, [
                'Input alignments: %s (first seen on %s).'
                % (verdict.layout.describe(), movie.getMicName()),
                verdict.layout.advice()])))

    def _classifyMovie(self, movie):
        verdict, autoMetrics = self._judge.judge(movie)
        movieId = movie.getObjId()
        if self._auto is None:
            return self._write(movie, verdict)
        if movieId in self._auto.pending_keys:  # held when a run was stopped
            decisions = {}
        else:
            decisions = dict(self._auto.add(movieId, autoMetrics))
        if movieId in decisions:
            self._write(movie, verdict.also(decisions.pop(movieId)))
        else:
            self._held[movieId] = (movie.clone(copyEnable=True), verdict)
        self._writeHeld(decisions)

    def _writeHeld(self, decisions):
        """Write the held movies that the automatic thresholds decided."""
        if decisions and self._held:
            self.info('Warm-up over: %s' % self._auto.describe())
        for movieId, decision in decisions.items():
            if movieId in self._held:  # else written before a restart
                movie, verdict = self._held.pop(movieId)
                self._write(movie, verdict.also(decision))

    def _write(self, movie, verdict):
        label = 'Movie %s (id %d)' % (movie.getMicName(), movie.getObjId())
        if verdict.criterion == motion.MOTION_INVALID:
            self.warning('%s discarded: %s' % (label, verdict.reason))
        elif verdict.note.startswith(motion.MOTION_ABSENT):
            self.warning('%s accepted without motion check: %s'
                         % (label, verdict.note))
        verdict.annotate(movie)
        self._outputSets.append(MOVIE_SPLIT[not verdict.accepted], movie,
                                self._movies.info)
        self._remember(movie, verdict)
        self._reached('evaluating')

    def _loadAutoThresholds(self):
        if self._committedAuto is not None:  # set up again in this run
            return auto_threshold.AutoThresholds.from_dict(self._committedAuto)
        path = self._getExtraPath(AUTO_STATE_FILE)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as stateFile:
                return auto_threshold.AutoThresholds.from_dict(json.load(stateFile))
        return auto_threshold.AutoThresholds(warmup=self.autoWarmup.get(),
                                             k=self.autoK.get())

    def _saveAutoThresholds(self):
        path = self._getExtraPath(AUTO_STATE_FILE)
        with open(path + '.partial', 'w', encoding='utf-8') as stateFile:
            json.dump(self._auto.to_dict(), stateFile)
        os.replace(path + '.partial', path)

    def _movieIdOf(self, mic):
        """Id of the movie a micrograph was made from, or None."""
        if mic.getObjId() in self._verdicts:
            return mic.getObjId()
        return self._verdictsByMicName.get(mic.getMicName(), (None,))[0]

    def _splitPending(self, source, reader):
        """Split the waiting micrographs whose movie is now classified;
        return those still waiting."""
        waiting = []
        for mic in self._pendingMics[source]:
            self._splitOrWait(source, reader, waiting, mic)
        return waiting

    def _splitOrWait(self, source, reader, waiting, mic):
        """Split a micrograph, or keep a copy of it until its movie comes."""
        if not self._splitMicrograph(source, mic, reader.info):
            waiting.append(mic.clone(copyEnable=True))

    def _splitMicrograph(self, source, mic, inputInfo):
        """Write a micrograph with its movie's decision; False if no movie yet."""
        movieId = self._movieIdOf(mic)
        if movieId is None:
            return False
        self._moviesWithMic[source].add(movieId)
        self._writeMicrograph(source, mic, self._verdicts[movieId], inputInfo)
        return True

    def _writeMicrograph(self, source, mic, verdict, inputInfo):
        verdict.annotate(mic, isMovie=False)
        self._outputSets.append(MIC_SPLITS[source][not verdict.accepted], mic,
                             inputInfo)

    def _closeOutputs(self):
        """Write what is left and close every output."""
        if self._auto is not None:
            self._writeHeld(dict(self._auto.finish_warmup()))
        for name, source in self._micSources.items():
            for mic in self._splitPending(name, source):
                reason = ('%s: no input movie has id %d or micName %s'
                          % (NO_MOVIE, mic.getObjId(), mic.getMicName()))
                self.warning('Micrograph %s discarded: %s'
                             % (mic.getMicName(), reason))
                self._writeMicrograph(name, mic, Verdict(
                    False, dict.fromkeys(METRIC_ATTRIBUTES), reason), source.info)
        if not self._micSources:
            self.info('The alignment protocol produced no micrographs: '
                      'only the movies were split')
        for name in self._micSources:
            missing = sorted(set(self._verdicts) - self._moviesWithMic[name])
            if missing:
                self.info('%d classified movies have no micrograph in %s: '
                          'ids %s' % (len(missing), name,
                                      _listed([str(i) for i in missing])))
        self._commit(closeStreams=True)

    def _reached(self, point):
        """A point where the reliability tests inject faults."""
        self._faults.reached(point)
        self._diskFaults.reached(point)

    def _commit(self, closeStreams=False):
        self._outputSets.commit(closeStreams, afterEach=lambda name:
                                self._reached('writing'))
        if self._auto is not None:  # the state that matches the outputs
            self._committedAuto = self._auto.to_dict()
        self._reached('table')
        table.append_rows(self.getMotionTablePath(), self._newRows)
        self._newRows = []
        if self._auto is not None:
            self._saveAutoThresholds()
        self.motionStats.set(json.dumps({
            'counts': self._stats, 'flagged': self._flagged[:LISTED_NAMES],
            'flaggedCount': len(self._flagged),
            'layouts': self._layouts.to_list(),
            'frames': frames.session_record(self._profile, self._directions,
                                            self._shapes, self._onlyFirstFrames),
            'automatic': self._auto.describe() if self._auto else ''}))
        self._store(self.motionStats)
        frames.write_profile(self.getFrameProfilePath(), self._profile)

    def _plotSummary(self):
        """Redraw the dashboard PNG; a failure here never stops the run."""
        started = self._plotted = time.time()
        try:
            rows = table.read_table(self.getMotionTablePath())
            plots.save_summary_png(self.getSummaryPlotPath(),
                                   table.as_arrays(rows), *self._rule(),
                                   auto=self._auto, withDose=True,
                                   earlyLimit=self.maxEarlyMotion.get(),
                                   lateLimit=self.maxLateMotion.get(),
                                   profile=frames.read_profile(self.getFrameProfilePath()))
        except Exception as error:  # matplotlib and the disk raise many kinds
            self.warning('The summary plot could not be drawn: %s' % error)
            return
        self._plottedMovies = len(self._verdicts)
        self.info('Summary plot of %d movies drawn in %.2f s'
                  % (len(rows), time.time() - started))

    def _outputDefined(self, name, outputSet):
        self._defineSourceRelation(self.inputMovies, outputSet)

    def _statsLine(self):
        stats = self._stats
        return '%d movies processed, %d accepted, %d discarded' % (
            stats['processed'], stats['accepted'],
            stats['processed'] - stats['accepted'])

    def getMotionTablePath(self):
        """The per-movie table (CSV), current after every poll."""
        return self._getExtraPath('movie_motion.csv')

    def getFrameProfilePath(self):
        """The session's steps frame by frame (CSV), current after every poll."""
        return self._getExtraPath(FRAME_PROFILE_FILE)

    def getSummaryPlotPath(self):
        """Histograms and scatter plot (PNG) for dashboards."""
        return self._getExtraPath('motion_summary.png')

    # -------------------------- INFO functions ------------------------------
    @classmethod
    def getHelpText(cls):
        """The form's Help: the class docstring without its source
        indentation, one line per paragraph (the help window wraps them)."""
        return '\n\n'.join(' '.join(paragraph.split()) for paragraph in
                             inspect.cleandoc(cls.getDoc()).split('\n\n'))

    def _validate(self):
        errors = []
        if self.rejType.get() not in range(len(self.REJ_TYPES)):
            errors.append('The rejection type must be one of 0-3 (%s).'
                          % ', '.join(self.REJ_TYPES))
            return errors
        if self.rejType.get() != self.REJ_MOVIE and not self.maxFrameShift.get() > 0:
            errors.append('Max frame shift must be a positive number of Å.')
        if self.rejType.get() != self.REJ_FRAME and not self.maxMovieShift.get() > 0:
            errors.append('Max movie shift must be a positive number of Å.')
        if not self.pollInterval.get() > 0:
            errors.append('The polling interval must be positive.')
        if self.upstreamGrace.get() is not None and self.upstreamGrace.get() < 0:
            errors.append('The time to give up on a stopped input protocol '
                          'must be 0 or more seconds (empty or 0: wait).')
        for name, label in (('maxEarlyMotion', 'max early motion'),
                            ('maxLateMotion', 'max late motion')):
            if getattr(self, name).get() is not None and not getattr(self, name).get() > 0:
                errors.append('The %s must be positive (or empty: not used).' % label)
        if not self.doseCutoff.get() > 0:
            errors.append('The early motion dose cutoff must be positive.')
        if self.useAutoThresholds.get() and (
                self.autoWarmup.get() < auto_threshold.MIN_REFERENCE
                or not self.autoK.get() > 0):
            errors.append('Automatic thresholds need a warm-up of at least %d '
                          'movies and a positive k.' % auto_threshold.MIN_REFERENCE)
        movies = self.inputMovies.get()
        if movies is None:
            errors.append('Choose the aligned movies to check.')
            return errors
        try:
            first = firstItem(movies)
        except UNREADABLE_SET_ERRORS as error:
            errors.append('Cannot read the input movies from %s: %s'
                          % (movies.getFileName(), error))
            return errors
        if first is not None and not first.hasAlignment():
            errors.append('The input movies carry no alignment (shifts), as '
                          'movies straight from an import. Use the output '
                          'movies of a movie-alignment protocol (MotionCor, '
                          'FlexAlign, ...) instead.')
        return errors

    def _summary(self):
        rule, frameLimit, movieLimit = self._rule()
        limits = []
        if motion.uses_frame_limit(rule):
            limits.append('max frame shift %g Å' % frameLimit)
        if motion.uses_movie_limit(rule):
            limits.append('max movie shift %g Å' % movieLimit)
        for name, label in (('maxEarlyMotion', 'max early motion'),
                            ('maxLateMotion', 'max late motion')):
            if getattr(self, name).get() is not None:
                limits.append('%s %g Å (dose cutoff %g e/Å²)'
                              % (label, getattr(self, name).get(),
                                 self.doseCutoff.get()))
        summary = ['Rule: %s (%s)' % (self.REJ_TYPES[rule], ', '.join(limits))]
        if self.isActive() and self.upstreamWaiting.get():
            summary.append(self.upstreamWaiting.get())
        if not self.motionStats.get():
            return summary + ['No movie classified yet.']
        stats = json.loads(self.motionStats.get())
        counts = stats['counts']
        processed = counts.get('processed', 0)
        accepted = counts.get('accepted', 0)
        summary.append('Movies processed: %d, accepted: %d, discarded: %d'
                       % (processed, accepted, processed - accepted))
        for criterion, count in sorted(counts.items()):
            if criterion not in ('processed', 'accepted'):
                summary.append('  discarded by %s: %d' % (criterion, count))
        summary += LayoutTally.from_list(stats.get('layouts', [])).lines()
        summary += frames.session_lines(stats.get('frames', {}))
        if stats.get('automatic'):
            automatic = stats['automatic']
            summary.append(automatic[0].upper() + automatic[1:])
        if stats['flaggedCount']:
            summary.append('WARNING: %d movies have no motion information '
                           '(single frame or all-zero shifts) and were '
                           'accepted unchecked: %s'
                           % (stats['flaggedCount'],
                              _listed(stats['flagged'], stats['flaggedCount'])))
        return summary

    def _methods(self):
        if not self.motionStats.get():
            return []
        counts = json.loads(self.motionStats.get())['counts']
        rule, frameLimit, movieLimit = self._rule()
        return ['Aligned movies were screened by their global motion with the '
                'rule "%s" (max frame shift %g Å, max movie shift %g Å, '
                'limits inclusive): %d of %d movies were discarded.'
                % (self.REJ_TYPES[rule], frameLimit, movieLimit,
                   counts.get('processed', 0) - counts.get('accepted', 0),
                   counts.get('processed', 0))]


def _listed(names, total=None):
    total = len(names) if total is None else total
    shown = ', '.join(names[:LISTED_NAMES])
    return shown + (' and %d more' % (total - LISTED_NAMES)
                    if total > LISTED_NAMES else '')


class _Producer:
    """The protocol that makes the input movies, re-read from its own run.db
    to see its status and the micrograph outputs it adds while running."""

    def __init__(self, protocol):
        self.protocol = protocol
        parent = protocol.inputMovies.getObjValue()
        self.parent = parent if isinstance(parent, Protocol) else None
        self.dbStamp = None  # (mtime, size) of its run.db when last read
        self.goneSince = None  # when its process was first seen gone

    def name(self):
        return self.parent.getRunName() if self.parent else ''

    def observe(self):
        """(state, description): upstream.RUNNING, FINISHED or DOWN, and
        e.g. 'failed at 14:03'; (None, '') without a producer protocol."""
        if self.parent is None:
            return None, ''
        self._reload()
        if self.goneSince is None and self.parent.isActive() \
                and not self._processAlive():
            # Read once more when its process is first seen gone: a last
            # status written in the same mtime tick would be missed.
            self._reload(force=True)
        parent = self.parent
        if parent.isFinished():
            return upstream.FINISHED, 'finished'
        if parent.isActive():
            if self._processAlive():
                self.goneSince = None
                return upstream.RUNNING, parent.getStatus()
            self.goneSince = self.goneSince or datetime.now()
            return upstream.DOWN, 'its process %s is gone, seen at %s' % (
                parent.getPid(), _clock(self.goneSince))
        self.goneSince = None
        if parent.endTime.hasValue():
            return upstream.DOWN, '%s at %s' % (parent.getStatus(),
                                                _clock(parent.endTime.datetime()))
        return upstream.DOWN, parent.getStatus()

    def changed(self):
        """Whether its run.db changed since it was last read."""
        return self.parent is not None and self._stamp() != self.dbStamp

    def _dbPath(self):
        return os.path.join(self.protocol.getProject().path,
                            self.parent.getDbPath())

    def _stamp(self):
        try:
            stat = os.stat(self._dbPath())
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _reload(self, force=False):
        """Re-read the producer if its run.db changed."""
        stamp = self._stamp()
        if stamp is not None and (force or stamp != self.dbStamp):
            updated = getProtocolFromDb(self.protocol.getProject().path,
                                        self.parent.getDbPath(),
                                        self.parent.getObjId())
            updated.getProject().closeMapper()
            updated.closeMappers()
            self.parent, self.dbStamp = updated, stamp

    def _processAlive(self):
        """False only when a local producer that says it is running has no
        process (launched or scheduled ones are about to get one)."""
        pid = self.parent.getPid()
        if not self.parent.isRunning() or not pid or self.parent.useQueue() \
                or self.parent.getHostName() != 'localhost':
            return True
        return psutil.pid_exists(pid)

    def micrographFiles(self):
        """Micrograph outputs the producer has now: name -> sqlite file."""
        files = {}
        for name in MIC_SPLITS:
            output = getattr(self.parent, name, None) if self.parent else None
            if output is not None and output.getFileName():
                files[name] = output.getFileName()
        return files


def _clock(moment):
    """14:03 today, else 2026-12-05 14:03."""
    if moment.date() == datetime.now().date():
        return moment.strftime('%H:%M')
    return moment.strftime('%Y-%m-%d %H:%M')
