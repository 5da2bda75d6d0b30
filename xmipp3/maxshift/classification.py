"""The state of movie maxshift's classify step, in one object: what the
outputs hold, the verdicts, the readers of the inputs, the movies held for
the automatic thresholds and the micrographs waiting for their movie.

Life cycle: resume() sets it up from the outputs (at the start of a run, on
Continue and after a full disk, when nothing uncommitted can be trusted);
then each poll calls read() and commit(), and the last one close(). Scipion
glue: the protocol gives it the logs, paths and output sets.
"""
import functools
import json
import os

import pwem.objects as emobj
import pyworkflow.object as pwobj

from xmipp3.maxshift import auto_threshold, frames, names, table
from xmipp3.maxshift.streaming import (UNREADABLE_SET_ERRORS, NewRowsReader,
                                        OutputSets, retryingLocks)
from xmipp3.maxshift.tally import SessionTally, listed
from xmipp3.maxshift.verdict import Verdict


def annotate(item, verdict, isMovie=True):
    """Write a verdict on a movie or micrograph (the frame-level figures on
    movies only: the micrograph sets stay as small as they were)."""
    item.setEnabled(verdict.accepted)
    for figure in names.MOTION_FIGURES:
        setattr(item, figure.attribute, pwobj.Float(verdict.metrics[figure.column]))
    if isMovie:
        for figure in names.SHAPE_FIGURES:
            setattr(item, figure.attribute, pwobj.Float(verdict.metrics[figure.column]))
        for figure in names.TEXT_FIGURES:
            setattr(item, figure.attribute, pwobj.String(verdict.texts[figure.column]))
    setattr(item, names.ATTR_DISCARD_REASON, pwobj.String(verdict.reason))
    setattr(item, names.ATTR_MOTION_NOTE, pwobj.String(verdict.note))


class Classification:
    """protocol: the maxshift protocol (logs, paths, outputs); judge: its
    MovieJudge; reached(point): where the reliability tests inject faults;
    auto: (warm-up, k) of the automatic thresholds, None when not used;
    committedAuto: their state as last committed in this step, if any."""

    def __init__(self, protocol, judge, reached, auto=None, committedAuto=None):
        self.protocol = protocol
        self.judge = judge
        self.reached = reached
        self.autoSettings = auto
        self.committedAuto = committedAuto
        self.outputs = OutputSets(protocol, names.OUTPUT_FILES,
                                  protocol._possibleOutputs, onDefined=self._defined)
        self.verdicts = {}  # movie id -> Verdict
        self.verdictsByMicName = {}  # micName -> (movie id, Verdict)
        self.tally = SessionTally()
        self.moviesWithMic = {name: set() for name in names.MIC_SPLITS}
        self.micsWritten = {name: set() for name in names.MIC_SPLITS}
        self.newRows = []  # table rows of movies not yet committed
        self.auto = None  # AutoThresholds when used
        self.held = {}  # movie id -> (copy, verdict) awaiting the automatic decision
        self.movies = None  # NewRowsReader of the input movies
        self.micSources = {}  # alignment output name -> NewRowsReader
        self.pendingMics = {name: [] for name in names.MIC_SPLITS}  # movie not seen yet

    # ------------------------------------------------------------ resume
    def resume(self):
        """Take back the decisions a previous run already wrote."""
        for name in names.MOVIE_SPLIT:
            for movie in self.outputs.iterWritten(name):
                self._remember(movie, self.judge.verdictOf(movie))
        for source, split in names.MIC_SPLITS.items():
            for name in split:
                for mic in self.outputs.iterWritten(name):
                    self.micsWritten[source].add(mic.getObjId())
                    self.moviesWithMic[source].add(self._movieIdOf(mic))
        if self.autoSettings:
            self.auto = self._syncedAutoThresholds(self._loadAutoThresholds())
        # The table is rewritten from the outputs, so rows of a run killed
        # between committing the outputs and the table are neither lost nor
        # repeated.
        table.write_table(self.protocol.getMotionTablePath(), self.newRows)
        self.newRows = []
        if self.verdicts:
            self.protocol.info('Resuming: %d movies were already classified'
                               % len(self.verdicts))
        self.outputs.reopen()
        self.movies = NewRowsReader(emobj.SetOfMovies,
                                    self.protocol.inputMovies.get().getFileName(),
                                    seenIds=self.verdicts, log=self.protocol.warning)

    def _syncedAutoThresholds(self, auto):
        """The automatic-threshold state, rebuilt from the outputs when it
        is behind them (a run that ended between committing the outputs and
        saving the state): the classified movies are added again in id
        order, their decisions kept."""
        decided = auto.n_added - len(auto.pending_keys)
        if decided >= len(self.verdicts):
            return auto
        rebuilt = auto_threshold.AutoThresholds(
            warmup=auto.warmup, k=auto.k, metrics=auto.metrics,
            reservoir_size=auto.reservoir_size, seed=auto.seed)
        for movieId in sorted(self.verdicts):
            rebuilt.add(movieId, self.verdicts[movieId].autoMetrics())
        self.protocol.info('The automatic-threshold state had seen %d of the %d '
                           'classified movies: rebuilt from the outputs (%s)'
                           % (decided, len(self.verdicts), rebuilt.describe()))
        return rebuilt

    def _loadAutoThresholds(self):
        if self.committedAuto is not None:  # set up again in this run
            return auto_threshold.AutoThresholds.from_dict(self.committedAuto)
        path = self.protocol._getExtraPath(names.AUTO_STATE_FILE)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as stateFile:
                return auto_threshold.AutoThresholds.from_dict(json.load(stateFile))
        warmup, k = self.autoSettings
        return auto_threshold.AutoThresholds(warmup=warmup, k=k)

    # -------------------------------------------------------------- read
    def read(self, micrographFiles):
        """Read and classify what is new in the movies and in the alignment
        protocol's micrograph outputs (name -> file, as it has them now);
        return how many movies and micrographs."""
        for name, fileName in micrographFiles.items():
            if name not in self.micSources:
                self.protocol.info('Splitting %s of the alignment protocol too' % name)
                self.micSources[name] = NewRowsReader(
                    emobj.SetOfMicrographs, fileName,
                    seenIds=self.micsWritten[name], log=self.protocol.warning)
        newMovies = self._read(self.movies, 'movies', self._classifyMovie)
        newMics = 0
        for name, source in self.micSources.items():
            waiting = self._splitPending(name, source)
            newMics += self._read(source, name, functools.partial(
                self._splitOrWait, name, source, waiting))
            self.pendingMics[name] = waiting
        return newMovies, newMics

    def inputClosed(self):
        """Whether the input sets say they will not grow (when there is no
        producer protocol to ask)."""
        return self.movies.closed and all(
            source.closed for source in self.micSources.values())

    def _read(self, reader, what, handle):
        """Hand each new item of an input to handle(); return how many."""
        handled = 0

        def handleAll():
            nonlocal handled
            for item in reader.iterNew():
                handle(item)
                handled += 1
        try:
            retryingLocks(handleAll, 'Reading the input %s' % what,
                          self.protocol.warning)
        except UNREADABLE_SET_ERRORS as error:
            raise RuntimeError('Cannot read the input %s from %s: %s'
                               % (what, reader.fileName, error)) from error
        return handled

    def _classifyMovie(self, movie):
        verdict, autoMetrics = self.judge.judge(movie)
        movieId = movie.getObjId()
        if self.auto is None:
            return self._write(movie, verdict)
        if movieId in self.auto.pending_keys:  # held when a run was stopped
            decisions = {}
        else:
            decisions = dict(self.auto.add(movieId, autoMetrics))
        if movieId in decisions:
            self._write(movie, verdict.also(decisions.pop(movieId)))
        else:
            self.held[movieId] = (movie.clone(copyEnable=True), verdict)
        self._writeHeld(decisions)

    def _writeHeld(self, decisions):
        """Write the held movies that the automatic thresholds decided."""
        if decisions and self.held:
            self.protocol.info('Warm-up over: %s' % self.auto.describe())
        for movieId, decision in decisions.items():
            if movieId in self.held:  # else written before a restart
                movie, verdict = self.held.pop(movieId)
                self._write(movie, verdict.also(decision))

    def _write(self, movie, verdict):
        label = 'Movie %s (id %d)' % (movie.getMicName(), movie.getObjId())
        if verdict.invalid:
            self.protocol.warning('%s discarded: %s' % (label, verdict.reason))
        elif verdict.flagged:
            self.protocol.warning('%s accepted without motion check: %s'
                                  % (label, verdict.note))
        annotate(movie, verdict)
        self.outputs.append(names.MOVIE_SPLIT[not verdict.accepted], movie,
                            self.movies.info)
        self._remember(movie, verdict)
        self.reached('evaluating')

    def _remember(self, movie, verdict):
        self.newRows.append(verdict.tableRow(movie))
        layout = self.tally.add(movie.getMicName(), verdict)
        kept = verdict.kept()
        self.verdicts[movie.getObjId()] = kept
        self.verdictsByMicName[movie.getMicName()] = (movie.getObjId(), kept)
        if layout:
            self.protocol.info(' '.join(filter(None, [
                'Input alignments: %s (first seen on %s).'
                % (layout.describe(), movie.getMicName()), layout.advice()])))

    # -------------------------------------------------------- micrographs
    def _movieIdOf(self, mic):
        """Id of the movie a micrograph was made from, or None: the same
        id, else the same micName."""
        if mic.getObjId() in self.verdicts:
            return mic.getObjId()
        return self.verdictsByMicName.get(mic.getMicName(), (None,))[0]

    def _splitPending(self, source, reader):
        """Split the waiting micrographs whose movie is now classified;
        return those still waiting."""
        waiting = []
        for mic in self.pendingMics[source]:
            self._splitOrWait(source, reader, waiting, mic)
        return waiting

    def _splitOrWait(self, source, reader, waiting, mic):
        """Split a micrograph, or keep a copy of it until its movie comes."""
        movieId = self._movieIdOf(mic)
        if movieId is None:
            waiting.append(mic.clone(copyEnable=True))
            return
        self.moviesWithMic[source].add(movieId)
        self._writeMicrograph(source, mic, self.verdicts[movieId], reader.info)

    def _writeMicrograph(self, source, mic, verdict, inputInfo):
        annotate(mic, verdict, isMovie=False)
        self.outputs.append(names.MIC_SPLITS[source][not verdict.accepted], mic,
                            inputInfo)

    # ------------------------------------------------------ commit, close
    def commit(self):
        """Commit what is new to the outputs, then the table, the
        automatic thresholds' state and the frame profile."""
        self.outputs.commit(afterEach=lambda name: self.reached('writing'))
        if self.auto is not None:  # the state that matches the outputs
            self.committedAuto = self.auto.to_dict()
        self.reached('table')
        table.append_rows(self.protocol.getMotionTablePath(), self.newRows)
        self.newRows = []
        if self.auto is not None:
            path = self.protocol._getExtraPath(names.AUTO_STATE_FILE)
            with open(path + '.partial', 'w', encoding='utf-8') as stateFile:
                json.dump(self.committedAuto, stateFile)
            os.replace(path + '.partial', path)
        frames.write_profile(self.protocol.getFrameProfilePath(), self.tally.profile)

    def close(self):
        """The input has ended: write what is left, commit, and close every
        output."""
        if self.auto is not None:
            self._writeHeld(dict(self.auto.finish_warmup()))
        for name, source in self.micSources.items():
            for mic in self._splitPending(name, source):
                verdict = Verdict.noMovie(mic)
                self.protocol.warning('Micrograph %s discarded: %s'
                                      % (mic.getMicName(), verdict.reason))
                self._writeMicrograph(name, mic, verdict, source.info)
        if not self.micSources:
            self.protocol.info('The alignment protocol produced no micrographs: '
                               'only the movies were split')
        for name in self.micSources:
            missing = sorted(set(self.verdicts) - self.moviesWithMic[name])
            if missing:
                self.protocol.info('%d classified movies have no micrograph in %s: '
                                   'ids %s' % (len(missing), name,
                                               listed([str(i) for i in missing])))
        self.commit()
        self.protocol._closeOutputSet()

    def discard(self):
        """Let go of what is not committed (and of the files' write locks)."""
        self.outputs.discard()

    def _defined(self, name, outputSet):
        self.protocol._defineSourceRelation(self.protocol.inputMovies, outputSet)

