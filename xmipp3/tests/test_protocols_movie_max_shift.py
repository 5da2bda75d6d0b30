"""Movie maxshift launched for real in Scipion projects, as Xmipp's own
protocol tests are (pyworkflow's BaseTest):

    scipion3 tests xmipp3.tests.test_protocols_movie_max_shift

The aligned movies come from the plugin's simulator (shifts from the bundled
real trajectories, designed ones or random walks): no dataset to download,
no binaries, no GPU.
"""
import json
import os
import tempfile

import numpy as np
from pyworkflow.tests import BaseTest, setupTestProject

from xmipp3.maxshift import table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                                   refresh, wait_for_output, wait_until_done)
from xmipp3.protocols import XmippProtMovieMaxShift as MaxShift

MOVIES, MOVIES_DISCARDED = 'outputMovies', 'outputMoviesDiscarded'
MICROGRAPH_SPLITS = {'outputMicrographs': 'outputMicrographsDiscarded',
                     'outputMicrographsDoseWeighted': 'outputMicrographsDoseWeightedDiscarded'}


def along_x(name, steps):
    """A trajectory (1 A/px) moving along x by the given steps (A)."""
    x = np.concatenate([[0.0], np.cumsum(steps)])
    return {'name': name, 'pixel_size_A': 1.0, 'shift_x_px': x.tolist(),
            'shift_y_px': [0.0] * len(x)}


# Movie id -> trajectory; max frame shift and total travel in the comment
DESIGNED = {1: along_x('calm', [1, 1, 1, 1]),             # 1 A, 4 A
            2: along_x('frame_jump', [1, 15, 1]),         # 15 A, 17 A
            3: along_x('drift', [5] * 12),                # 5 A, 60 A
            4: along_x('both', [20, 20, 20]),             # 20 A, 60 A
            5: along_x('at_limits', [10, 10, 10, 10, 5])}  # 10 A, 45 A: kept
DISCARDED_BY_RULE = {MaxShift.REJ_FRAME: {2, 4}, MaxShift.REJ_MOVIE: {3, 4},
                     MaxShift.REJ_AND: {4}, MaxShift.REJ_OR: {2, 3, 4}}


def ids(protocol, name):
    return [item.getObjId() for item in output_items(protocol, name)]


class MaxShiftTestBase(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)

    def trajectoryFile(self, trajectories):
        folder = tempfile.mkdtemp(prefix='maxshift-trajectories-')
        path = os.path.join(folder, 'trajectories.json')
        with open(path, 'w') as trajectoryFile:
            json.dump(trajectories, trajectoryFile)
        return path

    def simulate(self, **params):
        sim = launch(self.proj, new_simulation(self.proj, **params), wait=True)
        self.assertEqual(sim.getStatus(), 'finished', sim.getErrorMessage())
        return sim

    def maxshift(self, sim, wait=True, **params):
        params.setdefault('pollInterval', 0.5)
        protocol = launch(self.proj, new_maxshift(self.proj, sim, **params), wait=wait)
        if wait:
            self.assertEqual(protocol.getStatus(), 'finished', protocol.getErrorMessage())
        return protocol

    def assertEachMovieOnceAndMicrographsFollow(self, sim, maxshift):
        """Every input movie in exactly one movie output, every output
        closed, each micrograph on its movie's side; returns the discarded ids."""
        accepted, discarded = ids(maxshift, MOVIES), ids(maxshift, MOVIES_DISCARDED)
        self.assertEqual(sorted(accepted + discarded), sorted(ids(sim, 'outputMovies')))
        for kept, dropped in MICROGRAPH_SPLITS.items():
            if sim.hasAttribute(kept):
                self.assertEqual(ids(maxshift, kept), sorted(accepted))
                self.assertEqual(ids(maxshift, dropped), sorted(discarded))
        for name in maxshift._possibleOutputs:
            if maxshift.hasAttribute(name):
                self.assertTrue(getattr(maxshift, name).isStreamClosed(), name)
        rows = table.read_table(maxshift.getMotionTablePath())
        self.assertEqual(sorted(row['id'] for row in rows), sorted(accepted + discarded))
        return set(discarded)


class TestMovieMaxShiftRules(MaxShiftTestBase):
    """Each rejection rule on designed trajectories, with plain and
    dose-weighted micrographs split as their movies."""

    def test_each_rule_discards_the_designed_movies(self):
        sim = self.simulate(trajectoryFile=self.trajectoryFile(list(DESIGNED.values())),
                            batchSize=1000, samplingRate=1.0)
        for rule, expected in sorted(DISCARDED_BY_RULE.items()):
            maxshift = self.maxshift(sim, rejType=rule)
            self.assertEqual(self.assertEachMovieOnceAndMicrographsFollow(sim, maxshift),
                             expected, MaxShift.REJ_TYPES[rule])
            for movie in output_items(maxshift, MOVIES_DISCARDED):
                self.assertTrue(movie.getAttributeValue('_xmipp_discardReason'))
            summary = '\n'.join(maxshift.summary())
            self.assertIn('discarded: %d' % len(expected), summary)

    def test_unusable_movies_are_discarded_and_motionless_ones_accepted_with_a_note(self):
        nan = along_x('not_a_number', [1, 2, 3])
        nan['shift_x_px'][2] = float('nan')
        motionless = along_x('all_zero', [0, 0, 0])
        sim = self.simulate(trajectoryFile=self.trajectoryFile([nan, motionless, DESIGNED[1]]),
                            batchSize=1000, samplingRate=1.0)
        maxshift = self.maxshift(sim)
        self.assertEqual(self.assertEachMovieOnceAndMicrographsFollow(sim, maxshift), {1})
        invalid, = output_items(maxshift, MOVIES_DISCARDED)
        self.assertTrue(invalid.getAttributeValue('_xmipp_discardReason')
                        .startswith('invalid alignment'))
        notes = {movie.getObjId(): movie.getAttributeValue('_xmipp_motionNote')
                 for movie in output_items(maxshift, MOVIES)}
        self.assertTrue(notes[2].startswith('no motion information'))
        self.assertEqual(notes[3], '')


class TestMovieMaxShiftStreaming(MaxShiftTestBase):
    """A producer streaming in batches; stop and Continue; automatic thresholds."""

    def test_outputs_grow_while_the_producer_streams_and_close_at_its_end(self):
        sim = launch(self.proj, new_simulation(self.proj, source=1, numberOfMovies=40,
                                               batchSize=10, batchInterval=2.0, seed=1))
        wait_for_output(self.proj, sim, 'outputMovies')
        maxshift = self.maxshift(sim, wait=False)
        wait_for_output(self.proj, maxshift, MOVIES)
        self.assertTrue(refresh(self.proj, sim).isActive(), 'the stream ended too early')
        wait_until_done(self.proj, sim)
        wait_until_done(self.proj, maxshift)
        self.assertEachMovieOnceAndMicrographsFollow(sim, maxshift)

    def test_stopped_and_continued_loses_and_duplicates_nothing(self):
        sim = launch(self.proj, new_simulation(self.proj, source=1, numberOfMovies=40,
                                               batchSize=10, batchInterval=1.5, seed=2))
        wait_for_output(self.proj, sim, 'outputMovies')
        maxshift = self.maxshift(sim, wait=False)
        wait_for_output(self.proj, maxshift, MOVIES)
        self.proj.stopProtocol(maxshift)
        self.assertTrue(refresh(self.proj, maxshift).isAborted())
        wait_until_done(self.proj, sim)
        launch(self.proj, maxshift)  # "Continue", the default run mode
        wait_until_done(self.proj, maxshift)
        self.assertEachMovieOnceAndMicrographsFollow(sim, maxshift)
        self.assertIn('Resuming: ', ''.join(maxshift.getLogsAsStrings()))

    def test_automatic_thresholds_discard_the_injected_outliers(self):
        sim = self.simulate(source=1, numberOfMovies=150, outlierFraction=0.1, seed=4,
                            batchSize=1000)
        maxshift = self.maxshift(sim, maxFrameShift=1000.0, maxMovieShift=10000.0,
                                 useAutoThresholds=True, autoWarmup=30)
        discarded = self.assertEachMovieOnceAndMicrographsFollow(sim, maxshift)
        self.assertTrue(discarded, 'no outlier was found')
        for movie in output_items(maxshift, MOVIES_DISCARDED):
            self.assertTrue(movie.getAttributeValue('_xmipp_discardReason')
                            .endswith('(automatic threshold)'))


class TestMovieMaxShiftViewer(MaxShiftTestBase):
    def test_the_viewer_scipion_finds_draws_every_classified_movie(self):
        from pyworkflow.plugin import Domain
        from xmipp3.maxshift import plots
        sim = self.simulate(source=1, numberOfMovies=30, outlierFraction=0.3, seed=5,
                            batchSize=1000)
        maxshift = self.maxshift(sim)
        viewerClass = Domain.findViewers(maxshift, 'tkinter')[0]
        viewer = viewerClass(project=self.proj, protocol=maxshift)
        viewer.setProtocol(maxshift)
        expected = {'accepted': len(ids(maxshift, MOVIES)),
                    'discarded': len(ids(maxshift, MOVIES_DISCARDED))}
        scatter, = [axes for axes in viewer._scatterFigure().axes
                    if axes.get_gid() == plots.GID_SCATTER]
        plotted = {collection.get_gid(): len(collection.get_offsets())
                   for collection in scatter.collections
                   if collection.get_gid() in expected}
        self.assertEqual(plotted, expected)
        self.assertTrue(viewer._histogramFigure().axes)
        self.assertTrue(viewer._trajectoryFigure().axes)
