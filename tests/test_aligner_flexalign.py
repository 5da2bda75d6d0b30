"""Aligned movies made the way Xmipp's FlexAlign really makes them.

Only where movie maxshift lives inside scipion-em-xmipp (the merged build):
the bundled real trajectories are written as FlexAlign's shifts file (the
frameShifts block of <movie>_shifts.xmd, through Xmipp's own metadata
library), and XmippProtFlexAlign's own code (pwem's
ProtAlignMovies._createOutputMovie with FlexAlign's _getMovieShifts and
_setAlignmentInfo, scipion-em-xmipp 29.0.1) turns them into aligned movies.
Movie maxshift's judge must give each trajectory's own max frame shift and
total travel (within 1e-3 A) and never call a movie invalid.
"""
import os

import pytest
from pyworkflow.plugin import Domain

from aligned_movies import (MOTIONCOR, TUTORIAL, aligner, assert_figures, dose_of,
                            imported_movie, judged, own_figures, shifts_of)
from xmipp3.maxshift.layout import LAYOUT_NO_TRAJECTORY
from xmipp3.maxshift.motion import FRAMES_UNKNOWN, MOTION_ABSENT

flexalign = pytest.importorskip(
    'xmipp3.protocols.protocol_flexalign',
    reason='needs Xmipp\'s FlexAlign: runs where movie maxshift is merged into '
           'scipion-em-xmipp, not in the standalone plugin')
Domain.getPluginModule('xmipp3')
import pwem.emlib.metadata as md  # noqa: E402  Xmipp's metadata library
from pwem import emlib  # noqa: E402

ENTRIES = MOTIONCOR[:7] + TUTORIAL[6:12]


def write_flexalign_shifts(path, movieFile, firstFrame, x, y):
    """FlexAlign's shifts file as xmipp_movie_alignment_correlation writes
    it: the input movie's rows (the aligned frames, image n@movie) with
    their global shifts in pixels, in block frameShifts. Returns the shifts
    as the file holds them."""
    shifts = md.MetaData()
    for frame, (shiftX, shiftY) in enumerate(zip(x, y), start=firstFrame):
        row = shifts.addObject()
        shifts.setValue(emlib.MDL_IMAGE, '%d@%s' % (frame, movieFile), row)
        shifts.setValue(emlib.MDL_SHIFT_X, float(shiftX), row)
        shifts.setValue(emlib.MDL_SHIFT_Y, float(shiftY), row)
        shifts.setValue(emlib.MDL_ENABLED, 1, row)
    shifts.write('frameShifts@' + path)
    written = md.MetaData('frameShifts@' + path)
    return (written.getColumnValues(emlib.MDL_SHIFT_X),
            written.getColumnValues(emlib.MDL_SHIFT_Y))


def flexalign_movie(protocol, index, entry, alignedFrames=None, eerFrames=0):
    """An aligned movie from FlexAlign: its shifts file where the plugin
    reads it, then the plugin's own code. eerFrames: the movie is EER with
    that many EER frames, aligned as one fraction per trajectory frame."""
    folder = os.path.dirname(protocol.getWorkingDir())
    x, y = shifts_of(entry, alignedFrames)
    if eerFrames:
        movie = imported_movie(folder, index, entry, eerFrames, '.eer')
    else:
        movie = imported_movie(folder, index, entry, len(entry['shift_x_px']))
    written = write_flexalign_shifts(protocol._getShiftsFile(movie), movie.getFileName(),
                                     alignedFrames[0] if alignedFrames else 1, x, y)
    return protocol._createOutputMovie(movie), written


def test_flexalign_whole_movie(tmp_path):
    protocol = aligner(flexalign.XmippProtFlexAlign, str(tmp_path))
    for index, entry in enumerate(ENTRIES, start=1):
        movie, (x, y) = flexalign_movie(protocol, index, entry)
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A'],
                                            dose_of(entry)), entry['name'])
        assert verdict.layout.first_frame == 1
        assert verdict.note == ''


def test_flexalign_dropped_frames_range(tmp_path):
    for index, entry in enumerate(ENTRIES, start=1):
        frames = len(entry['shift_x_px'])
        protocol = aligner(flexalign.XmippProtFlexAlign, str(tmp_path / str(index)),
                           alignFrame0=3, alignFrameN=frames - 1)
        movie, (x, y) = flexalign_movie(protocol, index, entry, (3, frames - 1))
        assert movie.getAlignment().getRange() == (3, frames - 1)
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A'],
                                            dose_of(entry), 3), entry['name'])
        assert verdict.layout.first_frame == 3


def test_flexalign_eer_fractions(tmp_path):
    for index, entry in enumerate(ENTRIES, start=1):
        fractions = len(entry['shift_x_px'])
        eerFrames = fractions * 20 + 7
        protocol = aligner(flexalign.XmippProtFlexAlign, str(tmp_path / str(index)),
                           nFrames=fractions)
        movie, (x, y) = flexalign_movie(protocol, index, entry, eerFrames=eerFrames)
        # the range is the EER frames', the shifts are the fractions'
        assert movie.getAlignment().getRange() == (1, eerFrames)
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A']), entry['name'])
        assert verdict.metrics['earlyMotion_A'] is None
        assert verdict.note == ('%s: aligned frames 1-%d are %d frames but there are '
                                '%d shifts' % (FRAMES_UNKNOWN, eerFrames, eerFrames,
                                               fractions))
        assert verdict.layout.eer


def test_flexalign_saving_aligned_movies_stores_no_trajectory(tmp_path):
    protocol = aligner(flexalign.XmippProtFlexAlign, str(tmp_path), doSaveMovie=True)
    for index, entry in enumerate(ENTRIES, start=1):
        movie, _ = flexalign_movie(protocol, index, entry)
        verdict = judged(movie)
        assert verdict.accepted
        assert verdict.note.startswith('%s: all shifts are zero' % MOTION_ABSENT)
        assert verdict.layout.kind == LAYOUT_NO_TRAJECTORY
