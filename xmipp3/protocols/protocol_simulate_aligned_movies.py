"""SIMULATOR: streams aligned movies, as a motion-correction protocol would."""
import time
from datetime import datetime

import pwem.objects as emobj
from pwem.protocols import EMProtocol
from pyworkflow import BETA
from pyworkflow.protocol import STEPS_SERIAL
import pyworkflow.protocol.params as params

from xmipp3.maxshift.names import (OUTPUT_MICS, OUTPUT_MICS_DW, OUTPUT_MOVIES,
                                    SIMULATION_FILES)
from xmipp3.maxshift.streaming import OutputSets
from xmipp3.maxshift.simulation import (BUNDLED_TRAJECTORIES, load_trajectories,
                                        random_walk_trajectories)


class XmippProtSimulateAlignedMovies(EMProtocol):
    """SIMULATOR (no real images). Emits aligned movies in batches, with
    micrographs and dose-weighted micrographs that share their ids and
    micNames, and closes its outputs at the end, as a motion-correction
    protocol does. Shifts come from a trajectory file (by default the bundled
    real trajectories) or from generated random walks with outliers."""
    _label = 'simulate aligned movies'
    _devStatus = BETA
    stepsExecutionMode = STEPS_SERIAL
    _possibleOutputs = {OUTPUT_MOVIES: emobj.SetOfMovies,
                        OUTPUT_MICS: emobj.SetOfMicrographs,
                        OUTPUT_MICS_DW: emobj.SetOfMicrographs}

    SOURCE_FILE, SOURCE_RANDOM = 0, 1

    # -------------------------- DEFINE param functions ----------------------
    def _defineParams(self, form):
        form.addSection(label='Trajectories')
        form.addParam('source', params.EnumParam, default=self.SOURCE_FILE,
                      choices=['trajectory file', 'random walks'],
                      label='Shifts from',
                      help='A JSON trajectory file (list of entries with '
                           'name, pixel_size_A, shift_x_px, shift_y_px), or '
                           'random walks with injected jumps and drifts.')
        form.addParam('trajectoryFile', params.PathParam,
                      default=BUNDLED_TRAJECTORIES,
                      condition='source == %d' % self.SOURCE_FILE,
                      label='Trajectory file',
                      help='Default: the bundled real RELION and MotionCor2 '
                           'trajectories.')
        form.addParam('numberOfMovies', params.IntParam, default=0,
                      label='Number of movies',
                      help='Random walks: how many. Trajectory file: 0 emits '
                           'every entry once; more cycles through them.')
        form.addParam('numberOfFrames', params.IntParam, default=40,
                      condition='source == %d' % self.SOURCE_RANDOM,
                      label='Frames per movie')
        form.addParam('outlierFraction', params.FloatParam, default=0.1,
                      condition='source == %d' % self.SOURCE_RANDOM,
                      label='Outlier fraction',
                      help='Share of movies with an injected jump or drift.')
        form.addParam('seed', params.IntParam, default=0,
                      condition='source == %d' % self.SOURCE_RANDOM,
                      label='Random seed')

        form.addSection(label='Acquisition')
        form.addParam('samplingRate', params.FloatParam, default=0.0,
                      label='Movie sampling rate (Å/px)',
                      help='0: the first trajectory\'s pixel size. Shifts are '
                           'rescaled so each trajectory keeps its motion in Å. '
                           'A negative value makes a corrupt set, for tests.')
        form.addParam('micBinning', params.FloatParam, default=1.0,
                      label='Micrograph binning',
                      help='Micrographs get the movie sampling rate times this.')
        form.addParam('voltage', params.FloatParam, default=300.0,
                      label='Voltage (kV)')
        form.addParam('sphericalAberration', params.FloatParam, default=2.7,
                      label='Spherical aberration (mm)')
        form.addParam('amplitudeContrast', params.FloatParam, default=0.1,
                      label='Amplitude contrast')
        form.addParam('magnification', params.IntParam, default=50000,
                      label='Magnification')
        form.addParam('dosePerFrame', params.FloatParam, default=1.0,
                      label='Dose per frame (e/Å²)',
                      help='Used unless the trajectory file gives one.')
        form.addParam('doseInitial', params.FloatParam, default=0.0,
                      label='Initial dose (e/Å²)')

        form.addSection(label='Streaming')
        form.addParam('batchSize', params.IntParam, default=10,
                      label='Movies per batch')
        form.addParam('batchInterval', params.FloatParam, default=1.0,
                      label='Seconds between batches')
        form.addParam('makeMicrographs', params.BooleanParam, default=True,
                      label='Emit outputMicrographs?')
        form.addParam('makeDoseWeighted', params.BooleanParam, default=True,
                      label='Emit outputMicrographsDoseWeighted?')
        form.addParam('micrographLag', params.IntParam, default=0,
                      label='Micrograph lag (batches)',
                      help='Micrographs of batch k are emitted with batch '
                           'k + lag, so they appear after their movies.')
        form.addParam('micIdOffset', params.IntParam, default=0,
                      label='Micrograph id offset',
                      help='Added to micrograph ids, as an aligner that '
                           'renumbers would do; micNames still match.')
        form.addParam('moviesWithoutMicrograph', params.NumericListParam,
                      default='', label='Movies without micrograph',
                      help='Ids of movies whose micrographs are never '
                           'emitted, as when an aligner fails on them.')
        form.addParam('micrographsWithoutMovie', params.NumericListParam,
                      default='', label='Micrographs without movie',
                      help='Ids of movies that are never emitted although '
                           'their micrographs are.')

    # -------------------------- INSERT steps functions ----------------------
    def _insertAllSteps(self):
        self._insertFunctionStep(self.emitMoviesStep, str(datetime.now()),
                                 needsGPU=False)

    # -------------------------- STEPS functions -----------------------------
    def emitMoviesStep(self, launchTime):
        trajectories = self._trajectories()
        moviesInfo, micsInfo = self._setTemplates(trajectories)
        outputs = OutputSets(self, SIMULATION_FILES, self._possibleOutputs)
        micOutputs = [name for name, wanted in
                      ((OUTPUT_MICS, self.makeMicrographs.get()),
                       (OUTPUT_MICS_DW, self.makeDoseWeighted.get()))
                      if wanted]
        # On "Continue", emit only what the outputs lack (a stop can fall
        # between committing the movies and their micrographs).
        written = {name: {item.getObjId() for item in outputs.iterWritten(name)}
                   for name in [OUTPUT_MOVIES] + micOutputs}
        # pyworkflow closed them if this run failed or was stopped: open
        # again while it adds to them
        outputs.reopen()
        withoutMic = set(self._idList(self.moviesWithoutMicrograph))
        withoutMovie = set(self._idList(self.micrographsWithoutMovie))
        offset = self.micIdOffset.get()

        def missing(name, movieId):
            if name == OUTPUT_MOVIES:
                return movieId not in withoutMovie | written[name]
            return movieId not in withoutMic and movieId + offset not in written[name]
        ids = [i for i in range(1, len(trajectories) + 1)
               if any(missing(name, i) for name in written)]
        size = max(1, self.batchSize.get())
        batches = [ids[i:i + size] for i in range(0, len(ids), size)]
        lag = max(0, self.micrographLag.get())
        for index in range(len(batches) + lag):
            if index < len(batches):
                for movieId in batches[index]:
                    if missing(OUTPUT_MOVIES, movieId):
                        outputs.append(OUTPUT_MOVIES, self._movie(
                            movieId, trajectories[movieId - 1], moviesInfo),
                            moviesInfo)
            if index >= lag:
                for movieId in batches[index - lag]:
                    for name in micOutputs:
                        if missing(name, movieId):
                            outputs.append(name, self._micrograph(
                                movieId, trajectories[movieId - 1], name),
                                micsInfo)
            outputs.commit()
            self.info('Emitted batch %d of %d' % (index + 1, len(batches)))
            if index + 1 < len(batches) + lag:
                time.sleep(self.batchInterval.get())
        outputs.commit()
        self._closeOutputSet()

    # -------------------------- UTILS functions -----------------------------
    def _trajectories(self):
        if self.source.get() == self.SOURCE_RANDOM:
            return random_walk_trajectories(
                self.numberOfMovies.get(), self.numberOfFrames.get(),
                self.outlierFraction.get(), self._movieSamplingRate(None),
                self.seed.get())
        trajectories = load_trajectories(self.trajectoryFile.get())
        count = self.numberOfMovies.get() or len(trajectories)
        return [trajectories[i % len(trajectories)] for i in range(count)]

    @staticmethod
    def _idList(param):
        return [int(movieId) for movieId in (param.get() or '').split()]

    def _movieSamplingRate(self, trajectories):
        if self.samplingRate.get():
            return self.samplingRate.get()
        return trajectories[0]['pixel_size_A'] if trajectories else 1.0

    def _setTemplates(self, trajectories):
        """Sets that carry the acquisition and sampling of the outputs."""
        moviesInfo = emobj.SetOfMovies()
        micsInfo = emobj.SetOfMicrographs()
        sampling = self._movieSamplingRate(trajectories)
        dose = trajectories[0].get('dose_per_frame_e_per_A2') or self.dosePerFrame.get()
        for infoSet, rate in ((moviesInfo, sampling),
                              (micsInfo, sampling * self.micBinning.get())):
            acquisition = infoSet.getAcquisition()
            acquisition.setMagnification(self.magnification.get())
            acquisition.setVoltage(self.voltage.get())
            acquisition.setSphericalAberration(self.sphericalAberration.get())
            acquisition.setAmplitudeContrast(self.amplitudeContrast.get())
            acquisition.setDosePerFrame(dose)
            acquisition.setDoseInitial(self.doseInitial.get())
            infoSet.setSamplingRate(rate)
        return moviesInfo, micsInfo

    def _movie(self, movieId, trajectory, moviesInfo):
        rate, pixel = moviesInfo.getSamplingRate(), float(trajectory['pixel_size_A'])
        scale = pixel / rate if rate > 0 and pixel > 0 else 1.0
        xshifts = [float(x) * scale for x in trajectory['shift_x_px']]
        yshifts = [float(y) * scale for y in trajectory['shift_y_px']]
        frames = max(len(xshifts), 1)
        first, last = trajectory.get('aligned_frames', (1, frames))
        movie = emobj.Movie(location=self._getExtraPath('movie_%06d.mrcs' % movieId))
        movie.setObjId(movieId)
        movie.setMicName(self._micName(movieId, trajectory))
        movie.setFramesRange((1, frames, 1))
        movie.setAlignment(emobj.MovieAlignment(first=first, last=last,
                                                xshifts=xshifts,
                                                yshifts=yshifts))
        return movie

    def _micrograph(self, movieId, trajectory, outputName):
        suffix = '_dw' if outputName == OUTPUT_MICS_DW else ''
        mic = emobj.Micrograph(location=self._getExtraPath(
            'mic_%06d%s.mrc' % (movieId, suffix)))
        mic.setObjId(movieId + self.micIdOffset.get())
        mic.setMicName(self._micName(movieId, trajectory))
        return mic

    @staticmethod
    def _micName(movieId, trajectory):
        return '%06d_%s.mrc' % (movieId, trajectory.get('name', 'movie'))

    # -------------------------- INFO functions ------------------------------
    def _validate(self):
        errors = []
        if self.source.get() == self.SOURCE_RANDOM and self.numberOfMovies.get() < 1:
            errors.append('Random walks need a number of movies of at least 1.')
        if self.source.get() == self.SOURCE_FILE:
            try:
                load_trajectories(self.trajectoryFile.get())
            except (OSError, ValueError) as error:
                errors.append('Cannot read the trajectory file: %s' % error)
        if self.micBinning.get() <= 0:
            errors.append('The micrograph binning must be positive.')
        return errors

    def _summary(self):
        return ['SIMULATED aligned movies (no images): %s'
                % ('random walks' if self.source.get() == self.SOURCE_RANDOM
                   else self.trajectoryFile.get())]
