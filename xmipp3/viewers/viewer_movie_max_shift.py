"""Viewer of movie maxshift: motion histograms (max frame shift and total
travel, or the dose-aware early motion, late motion and first-third mean
step), scatter plot, trajectories of chosen movies, and the accepted and
discarded sets. With automatic thresholds, those in force (as the protocol
last saved them) are drawn too.

Each plot is built by a method that returns a matplotlib Figure
(`_histogramFigure`, `_doseHistogramFigure`, `_scatterFigure`,
`_trajectoryFigure`), which works without a display; the form's buttons wrap
those figures in pyworkflow's plotter, imported only when something is shown.
"""
import json
import os
import subprocess
import sys

import pyworkflow.protocol.params as params
from pyworkflow.viewer import DESKTOP_TKINTER, WEB_DJANGO, ProtocolViewer, View

from xmipp3.maxshift import auto_threshold, frames, plots, table
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_EARLY_MOTION, ATTR_FIRST_THIRD_STEP, ATTR_JUMP_FRAMES,
    ATTR_LATE_MOTION, ATTR_MAX_FRAME_SHIFT, ATTR_MOTION_NOTE, ATTR_PASSING_FRAMES,
    ATTR_SHAPE, ATTR_TOTAL_TRAVEL, AUTO_STATE_FILE, MOVIE_SPLIT, OUTPUT_MICS,
    OUTPUT_MICS_DISCARDED, OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED, OUTPUT_MOVIES,
    OUTPUT_MOVIES_DISCARDED)
from xmipp3.protocols.protocol_movie_max_shift import XmippProtMovieMaxShift

# The sets the viewer opens, in the order of its combo box
OUTPUT_SETS = ((OUTPUT_MOVIES, 'accepted movies'),
               (OUTPUT_MOVIES_DISCARDED, 'discarded movies'),
               (OUTPUT_MICS, 'accepted micrographs'),
               (OUTPUT_MICS_DISCARDED, 'discarded micrographs'),
               (OUTPUT_MICS_DW, 'accepted dose-weighted micrographs'),
               (OUTPUT_MICS_DW_DISCARDED, 'discarded dose-weighted micrographs'))
SET_COLUMNS = ' '.join(('id', 'enabled', '_micName', ATTR_MAX_FRAME_SHIFT,
                        ATTR_TOTAL_TRAVEL, ATTR_EARLY_MOTION, ATTR_LATE_MOTION,
                        ATTR_FIRST_THIRD_STEP, ATTR_DISCARD_REASON,
                        ATTR_MOTION_NOTE, ATTR_SHAPE, ATTR_JUMP_FRAMES,
                        ATTR_PASSING_FRAMES, '_samplingRate', '_filename'))
TRAJECTORIES_DISCARDED = 3  # by default, plus one typical accepted movie
# What the histograms button shows, in the order of its combo box
HISTOGRAMS_MOTION, HISTOGRAMS_DOSE = range(2)
# (short enough for the form's combo box to show them whole)
HISTOGRAM_CHOICES = ('max frame shift and total travel',
                     'early/late motion, first-third step')


class XmippMovieMaxShiftViewer(ProtocolViewer):
    """Shows how much the movies moved and how movie maxshift split them."""
    _label = 'viewer movie maxshift'
    _targets = [XmippProtMovieMaxShift]
    _environments = [DESKTOP_TKINTER, WEB_DJANGO]

    # -------------------------- DEFINE param functions ----------------------
    def _defineParams(self, form):
        form.addSection(label='Visualization')
        group = form.addGroup('Motion of all movies')
        group.addParam('histogramMetrics', params.EnumParam,
                       choices=list(HISTOGRAM_CHOICES), default=HISTOGRAMS_MOTION,
                       display=params.EnumParam.DISPLAY_COMBO,
                       label='Histograms of',
                       help='Early and late motion (RELION\'s, split at the '
                            'protocol\'s dose cutoff) need the dose per frame '
                            'in the movies: without it they say "no dose '
                            'information". The first-third mean step is the '
                            'mean frame step of the first third of the frames.')
        group.addParam('displayHistograms', params.LabelParam,
                       label='Show the histograms',
                       help='Accepted and discarded movies stacked, with the '
                            'limits that are set (dashed) and the automatic '
                            'thresholds in force (dash-dot) when used.')
        group.addParam('displayScatter', params.LabelParam,
                       label='Max frame shift vs total travel',
                       help='One point per movie; the region the rule '
                            'rejects is shaded, the automatic thresholds in '
                            'force drawn dash-dot when used. Discarded movies '
                            'are larger and named by id; a movie beyond the '
                            'axes is a triangle at the edge pointing out, '
                            'with its values.')
        group.addParam('displayFrames', params.LabelParam,
                       label='Which frames moved, and where to',
                       help='The session\'s step per frame (median and 90th '
                            'percentile, accepted and discarded movies; the '
                            'frames worth dropping shaded: their median step is '
                            'over 2.5 times the late frames\') and a polar '
                            'histogram of the movies\' net drift directions '
                            '(the arrow: their mean, as long as their '
                            'consistency R).')
        group = form.addGroup('Trajectories')
        group.addParam('trajectoryMovies', params.StringParam, default='',
                       label='Movies (ids or micNames)',
                       help='Separated by commas or spaces. Empty: the %d '
                            'discarded movies that travelled the most and '
                            'one typical accepted movie (median total '
                            'travel).' % TRAJECTORIES_DISCARDED)
        group.addParam('displayTrajectories', params.LabelParam,
                       label='Show their trajectories',
                       help='Path of each movie in Å relative to its first '
                            'frame, with frame numbers (frames at the same '
                            'place share a label), its largest step '
                            'highlighted and an arrowhead on each long step.')
        group = form.addGroup('Output sets')
        group.addParam('outputSet', params.EnumParam,
                       choices=[label for _, label in OUTPUT_SETS], default=0,
                       display=params.EnumParam.DISPLAY_COMBO,
                       label='Open in the set viewer',
                       help='Each item shows its max frame shift, total '
                            'travel, early and late motion, first-third mean '
                            'step and, when discarded, the reason.')

    def _getVisualizeDict(self):
        return {'displayHistograms': self._showHistograms,
                'displayScatter': self._showScatter,
                'displayFrames': self._showFrames,
                'displayTrajectories': self._showTrajectories,
                'outputSet': self._showOutputSet}

    # -------------------------- Figures (no display needed) -----------------
    def _histogramFigure(self, figure=None):
        return plots.histograms_figure(self._motionArrays(), *self._rule(),
                                       figure=figure, auto=self._autoThresholds())

    def _doseHistogramFigure(self, figure=None):
        return plots.dose_histograms_figure(
            self._motionArrays(), *self._doseLimits(), figure=figure,
            auto=self._autoThresholds(), doseCutoff=self.protocol.doseCutoff.get())

    def _scatterFigure(self, figure=None):
        return plots.scatter_figure(self._motionArrays(), *self._rule(),
                                    figure=figure, auto=self._autoThresholds())

    def _framesFigure(self, figure=None):
        profilePath = os.path.join(self.getProject().path,
                                   self.protocol.getFrameProfilePath())
        return plots.frames_figure(frames.read_profile(profilePath),
                                   self._motionArrays(), figure=figure)

    def _trajectoryFigure(self, figure=None):
        movieIds, _ = self._chosenMovies()
        return plots.trajectories_figure(self._trajectories(movieIds),
                                         figure=figure)

    # -------------------------- Views ---------------------------------------
    def _showHistograms(self, paramName=None):
        if self.histogramMetrics.get() == HISTOGRAMS_DOSE:
            return [self._plotter(self._doseHistogramFigure,
                                  'early and late motion histograms')]
        return [self._plotter(self._histogramFigure, 'motion histograms')]

    def _showScatter(self, paramName=None):
        return [self._plotter(self._scatterFigure, 'motion scatter plot')]

    def _showFrames(self, paramName=None):
        return [self._plotter(self._framesFigure, 'frame profile and drift directions')]

    def _showTrajectories(self, paramName=None):
        movieIds, unknown = self._chosenMovies()
        views = []
        if unknown:
            views.append(self.errorMessage(
                'No classified movie has id or micName: %s' % ', '.join(unknown),
                'Unknown movies'))
        if movieIds or not unknown:
            views.append(self._plotter(self._trajectoryFigure, 'trajectories'))
        return views

    def _showOutputSet(self, paramName=None):
        name, label = OUTPUT_SETS[self.outputSet.get()]
        outputSet = getattr(self.protocol, name, None)
        if outputSet is None:
            return [self.infoMessage('There are no %s yet: %s appears with '
                                     'its first item.' % (label, name),
                                     'Nothing to show')]
        return [MotionSetView(outputSet, self.getProject(),
                              self._rendered(name, outputSet))]

    # -------------------------- UTILS functions -----------------------------
    def _plotter(self, draw, title):
        """A pyworkflow plotter holding the figure that draw() builds."""
        from pyworkflow.gui.plotter import Plotter  # pyplot and Tk
        plotter = Plotter(windowTitle='%s: %s' % (self.protocol.getRunName(), title))
        plotter.tightLayoutOn = False  # the figures lay themselves out
        plots.add_hover(draw(plotter.getFigure()))  # movies named under the mouse
        return plotter

    def _rule(self):
        return (self.protocol.rejType.get(), self.protocol.maxFrameShift.get(),
                self.protocol.maxMovieShift.get())

    def _doseLimits(self):
        return self.protocol.maxEarlyMotion.get(), self.protocol.maxLateMotion.get()

    def _autoThresholds(self):
        """The automatic thresholds as the protocol last saved them; a
        fresh warm-up before its first poll; None when not used."""
        if not self.protocol.useAutoThresholds.get():
            return None
        path = os.path.join(self.getProject().path,
                            self.protocol._getExtraPath(AUTO_STATE_FILE))
        if not os.path.exists(path):
            try:
                return auto_threshold.AutoThresholds(
                    warmup=self.protocol.autoWarmup.get(),
                    k=self.protocol.autoK.get())
            except ValueError as error:  # the protocol refuses to run too
                return _UnknownThresholds(str(error))
        try:
            with open(path, encoding='utf-8') as stateFile:
                return auto_threshold.AutoThresholds.from_dict(json.load(stateFile))
        except (OSError, ValueError, KeyError, TypeError) as error:
            return _UnknownThresholds('cannot read %s: %s' % (path, error))

    def _motionTablePath(self):
        return os.path.join(self.getProject().path,
                            self.protocol.getMotionTablePath())

    def _motionArrays(self):
        """The protocol's per-movie table as arrays; empty before it starts."""
        path = self._motionTablePath()
        return table.read_arrays(path) if os.path.exists(path) else table.as_arrays([])

    def _chosenMovies(self):
        """Ids of the movies whose trajectories to show, and unknown words."""
        arrays = self._motionArrays()
        if not (self.trajectoryMovies.get() or '').strip():
            return plots.default_trajectory_ids(arrays, TRAJECTORIES_DISCARDED), []
        return plots.find_movies(arrays, self.trajectoryMovies.get())

    def _trajectories(self, movieIds):
        """The movies' shifts, read from the output sets, in the order given."""
        found = {}
        for name in MOVIE_SPLIT:
            outputSet = getattr(self.protocol, name, None)
            missing = [str(movieId) for movieId in movieIds if movieId not in found]
            if outputSet is None or not missing:
                continue
            try:
                for movie in outputSet.iterItems(where='id IN (%s)' % ', '.join(missing)):
                    alignment = movie.getAlignment() if movie.hasAlignment() else None
                    xshifts, yshifts = alignment.getShifts() if alignment else ([], [])
                    found[movie.getObjId()] = plots.Trajectory(
                        '%s (id %d)' % (movie.getMicName(), movie.getObjId()),
                        movie.getSamplingRate(), list(xshifts), list(yshifts),
                        movie.isEnabled(), alignment.getRange() if alignment else None)
            finally:
                outputSet.close()
        return [found[movieId] for movieId in movieIds if movieId in found]

    @staticmethod
    def _rendered(name, outputSet):
        """Images to show in the table: none for movies, else thumbnails
        when the micrographs have them."""
        if name in MOVIE_SPLIT:
            return 'no'
        try:
            first = outputSet.getFirstItem()
        finally:
            outputSet.close()
        hasThumbnail = first is not None and first.hasAttributeExt('thumbnail._filename')
        return 'thumbnail._filename' if hasThumbnail else '_filename'


class MotionSetView(View):
    """An output set in Scipion's own metadata viewer (the Qt one behind
    right-click -> "Scipion"), the motion metrics and reason visible from
    the start. It needs no Xmipp."""

    def __init__(self, outputSet, project, render):
        self.outputSet = outputSet
        self.project = project
        self.render = render  # the column shown as images ('no': none)

    def command(self):
        """The metadata viewer's command line for this set."""
        from pwem.viewers import mdviewer
        readers = os.path.join(os.path.dirname(mdviewer.__file__), 'readers.py')
        return [sys.executable, '-m', 'metadataviewer', '--extensionpath', readers,
                self.outputSet.getFileName(), '--visiblelabels', SET_COLUMNS,
                '--orderlabels', SET_COLUMNS, '--renderlabels', self.render]

    def environment(self):
        """With the project window open, the viewer can make subsets."""
        from pwem.viewers.mdviewer.sqlite_dao import SCIPION_OBJECT_ID, SCIPION_PORT
        environ = dict(os.environ)
        port = getattr(self.project, 'port', None)
        if port:
            environ.update({SCIPION_PORT: str(port),
                            SCIPION_OBJECT_ID: str(self.outputSet.getObjId())})
        return environ

    def show(self):
        subprocess.Popen(self.command(), env=self.environment())


class _UnknownThresholds:
    """Stands for automatic thresholds that cannot be read: the figures say
    why in their title and draw no automatic line."""
    metrics = ()
    warming_up = False

    def __init__(self, problem):
        self.problem = problem

    def thresholds(self):
        return {}

    def describe(self):
        return 'automatic thresholds unknown: %s' % self.problem
