"""Movie maxshift: split aligned movies, and their micrographs, by how much
the movies moved.

The protocol's sections only: what it measures and decides lives in
xmipp3.maxshift (verdict: the judge; classification: the step's state;
producer: the input's protocol; names: the public names)."""
import inspect
import itertools
import json
import os
import time
from datetime import datetime

import pwem.objects as emobj
from pwem.protocols import ProtProcessMovies
import pyworkflow.object as pwobj
from pyworkflow import PROD
from pyworkflow.protocol import LEVEL_ADVANCED, STEPS_SERIAL
import pyworkflow.protocol.params as params

from xmipp3.maxshift import auto_threshold, frames, motion, plots, table, tally, upstream
from xmipp3.maxshift.classification import Classification
from xmipp3.maxshift.names import (
    FRAME_PROFILE_FILE, MOTION_TABLE_FILE, OUTPUT_MICS, OUTPUT_MICS_DISCARDED,
    OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED, OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED,
    RUN_RECORD_FILE, SUMMARY_PLOT_FILE)
from xmipp3.maxshift.producer import ProducerWatch, micrographFiles
from xmipp3.maxshift.streaming import (UNREADABLE_SET_ERRORS, FaultInjector,
                                        diskFullCause, firstItem)
from xmipp3.maxshift.verdict import MovieJudge

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
        self._record('step started')
        self._faults = (FaultInjector(KILL_AT_VARIABLE),
                        FaultInjector(DISK_FULL_AT_VARIABLE, diskFull=True))
        self._diskFullGiveUp = float(os.environ.get(DISK_FULL_GIVE_UP_VARIABLE)
                                     or DISK_FULL_GIVE_UP_SECONDS)
        self._diskFull = None  # (since, attempts) while writes fail for space
        self._producer = ProducerWatch(self)
        self._watch = upstream.UpstreamWatch(
            self._producer.name(), self.pollInterval.get(),
            grace=self.upstreamGrace.get())
        self._plotted = None  # when the summary plot was last drawn ...
        self._plottedMovies = None  # ... and with how many movies
        self._run = None
        try:
            self._classifyUntilTheEnd()
        except BaseException:
            # Uncommitted items hold their files' write locks, and pyworkflow
            # now closes the outputs in this process: let go of them first.
            if self._run is not None:
                self._run.discard()
            raise
        self.info('Finished: %s' % self._run.tally.line())
        self._record('step finished')

    def _classifyUntilTheEnd(self):
        try:
            self._setUp()
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
                             self._diskFull[1], self._run.tally.processed))
                self._diskFull = None
            if final:
                return
            self._reached('between-polls')
            self._sleepUntilNextPoll(started)

    def _setUp(self):
        """Set up from what the outputs hold: at the start of a run (a
        Continue resumes this way) and after a full disk, when nothing
        uncommitted can be trusted."""
        auto = ((self.autoWarmup.get(), self.autoK.get())
                if self.useAutoThresholds.get() else None)
        self._run = Classification(self, self._judge(), self._reached, auto,
                                   self._run and self._run.committedAuto)
        self._run.resume()

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
        run = self._run
        newMovies, newMics = run.read(micrographFiles(self._producer.producer))
        final = decision.final if state is not None else run.inputClosed()
        if final:
            run.close()
        else:
            run.commit()
        automatic = run.auto.describe() if run.auto else ''
        self.motionStats.set(json.dumps(run.tally.record(automatic)))
        self._store(self.motionStats)
        if final or newMovies or newMics or not decision.waiting:
            self.info(self._record(
                'poll', poll=poll, final=final, newMovies=newMovies,
                newMicrographs=newMics, classified=run.tally.processed,
                seconds=round(time.time() - started, 3), automatic=automatic))
        if final or self._plotted is None or (
                time.time() - self._plotted >= SUMMARY_PLOT_SECONDS
                and run.tally.processed != self._plottedMovies):
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
            if self._run is not None:
                self._run.discard()
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
                self._setUp()
                return
            except Exception as again:
                if diskFullCause(again) is None:
                    raise
                error = again

    def _plotSummary(self):
        """Redraw the dashboard PNG; a failure here never stops the run."""
        started = self._plotted = time.time()
        try:
            arrays = table.read_arrays(self.getMotionTablePath())
            plots.save_summary_png(self.getSummaryPlotPath(), arrays, *self._rule(),
                                   auto=self._run.auto, withDose=True,
                                   earlyLimit=self.maxEarlyMotion.get(),
                                   lateLimit=self.maxLateMotion.get(),
                                   profile=frames.read_profile(self.getFrameProfilePath()))
        except Exception as error:  # matplotlib and the disk raise many kinds
            self.warning('The summary plot could not be drawn: %s' % error)
            return
        self._plottedMovies = self._run.tally.processed
        self.info(self._record('summary plot', movies=len(arrays['id']),
                               seconds=round(time.time() - started, 2)))

    # -------------------------- UTILS functions -----------------------------
    def _rule(self):
        return (self.rejType.get(), self.maxFrameShift.get(),
                self.maxMovieShift.get())

    def _judge(self):
        return MovieJudge(*self._rule(), doseCutoff=self.doseCutoff.get(),
                          maxEarly=self.maxEarlyMotion.get(),
                          maxLate=self.maxLateMotion.get())

    def _reached(self, point):
        """A point where the reliability tests inject faults."""
        for faults in self._faults:
            faults.reached(point)

    def _record(self, event, **figures):
        """Add an event to the run record (JSON lines, read by the benchmark
        and pipelines); return its words for the log."""
        entry = dict(event=event, time=time.time(), **figures)
        with open(self._getExtraPath(RUN_RECORD_FILE), 'a', encoding='utf-8') as record:
            record.write(json.dumps(entry) + '\n')
        return describeEvent(entry)

    def getMotionTablePath(self):
        """The per-movie table (CSV), current after every poll."""
        return self._getExtraPath(MOTION_TABLE_FILE)

    def getFrameProfilePath(self):
        """The session's steps frame by frame (CSV), current after every poll."""
        return self._getExtraPath(FRAME_PROFILE_FILE)

    def getSummaryPlotPath(self):
        """Histograms and scatter plot (PNG) for dashboards."""
        return self._getExtraPath(SUMMARY_PLOT_FILE)

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
        summary = ['Rule: %s (%s)' % (self.REJ_TYPES[self.rejType.get()],
                                      self._judge().limits())]
        if self.isActive() and self.upstreamWaiting.get():
            summary.append(self.upstreamWaiting.get())
        if not self.motionStats.get():
            return summary + ['No movie classified yet.']
        return summary + tally.record_lines(json.loads(self.motionStats.get()))

    def _methods(self):
        if not self.motionStats.get():
            return []
        dropped, processed = tally.discarded(json.loads(self.motionStats.get()))
        automatic = ''
        if self.useAutoThresholds.get():
            automatic = (' and automatic thresholds (%s over median + %g sigma of '
                         'the movies accepted so far, sigma from the MAD, after '
                         'a warm-up of %d movies)'
                         % (' or '.join(auto_threshold.DEFAULT_METRICS),
                            self.autoK.get(), self.autoWarmup.get()))
        return ['Aligned movies were screened by their global motion with the '
                'rule "%s" (%s; limits inclusive)%s. %d of %d movies were '
                'discarded.' % (self.REJ_TYPES[self.rejType.get()],
                                self._judge().limits(), automatic, dropped,
                                processed)]


def describeEvent(entry):
    """The log's words for an event of the run record."""
    if entry['event'] == 'poll':
        return ('Poll %d%s: %d new movies, %d new micrographs, %d movies '
                'classified, %.3f s%s' % (
                    entry['poll'], ' (final)' if entry['final'] else '',
                    entry['newMovies'], entry['newMicrographs'],
                    entry['classified'], entry['seconds'],
                    '; ' + entry['automatic'] if entry['automatic'] else ''))
    if entry['event'] == 'summary plot':
        return 'Summary plot of %d movies drawn in %.2f s' % (entry['movies'],
                                                              entry['seconds'])
    return entry['event']
