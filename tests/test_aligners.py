"""Aligned movies made the way each aligner plugin really makes them.

The bundled real trajectories are written in each program's own file format
(MotionCor's Full.log, RELION's per-movie STAR), and the plugins' own code
turns them into aligned movies: scipion-em-motioncorr 4.0.1
(ProtMotionCorrNewStreaming.getMovieAlignment, and ProtMotionCorr through
pwem's ProtAlignMovies._createOutputMovie, both parsing the log with
motioncorr.convert.parseMovieAlignment2) and scipion-em-relion 5.0.2
(ProtRelionMotioncor._getMovieShifts through _createOutputMovie). The
protocols are real protocol objects with their parameters set as a user
would; nothing runs but their Python code. Movie maxshift's judge must then
give each trajectory's own max frame shift and total travel (within 1e-3 A),
never call a movie invalid, and give RELION's early/late motion where RELION
computed them. FlexAlign, which needs Xmipp's metadata library, is in
test_aligner_flexalign.py.
"""
import json
import os

import pytest
from pyworkflow.plugin import Domain
from pyworkflow.protocol import STATUS_FINISHED
import pwem.objects as emobj

from aligned_movies import (BINNED, MOTIONCOR, RELION_KEY, TOLERANCE_A, TUTORIAL,
                            aligner, as_written, assert_figures, dose_of,
                            imported_movie, judged, own_figures, shifts_of)
from maxshift_checks import MOVIE_OUTPUTS
from xmipp3.maxshift import layout as shift_layout
from xmipp3.maxshift.batch import launch, new_maxshift, output_items
from xmipp3.maxshift.motion import (DOSE_ABSENT, FRAMES_UNKNOWN, MOTION_ABSENT,
                                    REJ_OR)
from xmipp3.maxshift.names import ATTR_MOTION_NOTE, ATTR_TOTAL_TRAVEL, OUTPUT_MOVIES
from xmipp3.maxshift.verdict import MovieJudge


def plugin_protocols(plugin, *names):
    """Protocol classes of an aligner plugin, registered first as Scipion
    does when it loads plugins (their modules read its variables)."""
    pytest.importorskip(plugin, reason='the aligner plugins are test '
                                       'dependencies: pip install -e .[test]')
    Domain.getPluginModule(plugin)
    module = __import__('%s.protocols' % plugin, fromlist=list(names))
    return [getattr(module, name) for name in names]


ProtMotionCorrNewStreaming, ProtMotionCorr = plugin_protocols(
    'motioncorr', 'ProtMotionCorrNewStreaming', 'ProtMotionCorr')
ProtRelionMotioncor, = plugin_protocols('relion', 'ProtRelionMotioncor')


# --------------------------------------------------------------------------
# Files in the programs' formats
# --------------------------------------------------------------------------

def write_motioncor_log(path, x, y):
    """MotionCor's Full.log (-LogDir), as MotionCor3's CFullAlign::LogShift
    writes it: a comment line, then each loaded frame (numbered from 1) and
    its shift in pixels from the central reference frame, two decimals.
    Returns the shifts as written."""
    reference = (len(x) - 1) // 2
    x, y = as_written(x - x[reference], 2), as_written(y - y[reference], 2)
    with open(path, 'w') as log:
        log.write('# full frame alignment\n')
        for frame, (shiftX, shiftY) in enumerate(zip(x, y), start=1):
            log.write('%4d  %8.2f  %8.2f\n' % (frame, shiftX, shiftY))
    return x, y


def write_relion_star(path, movieName, x, y, pixelSize, binning, dose):
    """RELION's per-movie STAR (relion_run_motioncorr, RELION 5): the
    general block and the global shifts of every frame of the movie, in
    pixels of the original movie. Returns the shifts as written."""
    x, y = as_written(x, 6), as_written(y, 6)
    general = [('ImageSizeX', '4096'), ('ImageSizeY', '4096'),
               ('ImageSizeZ', str(len(x))), ('MicrographMovieName', movieName),
               ('MicrographBinning', '%f' % binning),
               ('MicrographOriginalPixelSize', '%f' % pixelSize),
               ('MicrographDoseRate', '%f' % dose),
               ('MicrographPreExposure', '0.000000'), ('Voltage', '300.000000'),
               ('MicrographStartFrame', '1'), ('MotionModelVersion', '1')]
    with open(path, 'w') as star:
        star.write('\n# version 50001\n\ndata_general\n\n')
        for label, value in general:
            star.write('_rln%-40s %s\n' % (label, value))
        star.write(' \n\n# version 50001\n\ndata_global_shift\n\nloop_ \n'
                   '_rlnMicrographFrameNumber #1 \n_rlnMicrographShiftX #2 \n'
                   '_rlnMicrographShiftY #3 \n')
        for frame, (shiftX, shiftY) in enumerate(zip(x, y), start=1):
            star.write('%12d %12.6f %12.6f \n' % (frame, shiftX, shiftY))
        star.write(' \n')
    return x, y


# --------------------------------------------------------------------------
# Movies as an import makes them, aligned by the plugins' code
# --------------------------------------------------------------------------

def motioncor_movie(protocol, index, entry, alignedFrames=None, eerGroup=0):
    """An aligned movie from MotionCor: the log of the aligned frames (or
    EER fractions) written where the plugin reads it, then the plugin's own
    code. Returns the movie and the shifts the log holds."""
    folder = os.path.dirname(protocol.getWorkingDir())
    x, y = shifts_of(entry, alignedFrames)
    frames = len(entry['shift_x_px'])
    if eerGroup:  # each shift is a fraction of eerGroup EER frames (and a rest)
        movie = imported_movie(folder, index, entry, frames * eerGroup + 5, '.eer')
    else:
        movie = imported_movie(folder, index, entry, frames)
    if isinstance(protocol, ProtMotionCorrNewStreaming):
        logFile = protocol._getMovieLogFile(movie.getFileName())
    else:
        logFile = protocol._getExtraPath(protocol._getMovieLogFile(movie))
    written = write_motioncor_log(logFile, x, y)
    if isinstance(protocol, ProtMotionCorrNewStreaming):
        # createOutputStep: the output movie copies the input one
        aligned = emobj.Movie()
        aligned.copyInfo(movie)
        aligned.setAlignment(protocol.getMovieAlignment(
            movie.getFileName(), aligned.getNumberOfFrames()))
    else:
        aligned = protocol._createOutputMovie(movie)
    return aligned, written


def relion_movie(protocol, index, entry, eer=False):
    """An aligned movie from RELION: the per-movie STAR where the plugin
    reads it, then the plugin's own code. Returns the movie and the shifts
    of the summed frames as the STAR holds them."""
    folder = os.path.dirname(protocol.getWorkingDir())
    x, y = shifts_of(entry)
    movie = imported_movie(folder, index, entry, len(x), '.eer' if eer else '.tiff')
    written = write_relion_star(protocol._getMovieExtraFn(movie, '.star'),
                                os.path.basename(movie.getFileName()), x, y,
                                entry['pixel_size_A'], protocol.binFactor.get(),
                                dose_of(entry))
    first, last = protocol.sumFrame0.get(), protocol.sumFrameN.get()
    return (protocol._createOutputMovie(movie),
            tuple(shifts[first - 1:last] for shifts in written))


# --------------------------------------------------------------------------
# MotionCor (scipion-em-motioncorr 4.0.1)
# --------------------------------------------------------------------------

MOTIONCOR_PROTOCOLS = pytest.mark.parametrize(
    'protocolClass', [ProtMotionCorrNewStreaming, ProtMotionCorr],
    ids=['new streaming', 'legacy'])


@MOTIONCOR_PROTOCOLS
def test_motioncor_log_of_the_whole_movie(tmp_path, protocolClass):
    protocol = aligner(protocolClass, str(tmp_path))
    for index, entry in enumerate(MOTIONCOR, start=1):
        movie, (x, y) = motioncor_movie(protocol, index, entry)
        assert movie.getAlignment().getRange() == (1, len(x))
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A'],
                                            dose_of(entry)), entry['name'])
        assert verdict.layout.describe() == 'shifts for frames 1-%d of %d' % (
            len(x), len(x))
        assert verdict.note == ''


@MOTIONCOR_PROTOCOLS
@pytest.mark.parametrize('dropped', [(2, 0), (2, 3)], ids=['first two', 'first two and last three'])
def test_motioncor_log_of_a_dropped_frames_range(tmp_path, protocolClass, dropped):
    head, tail = dropped
    for index, entry in enumerate(MOTIONCOR, start=1):
        frames = len(entry['shift_x_px'])
        first, last = head + 1, frames - tail
        # the user's range: from frame 3, to the last frame or frame n - 3
        protocol = aligner(protocolClass, str(tmp_path / str(index)),
                           alignFrame0=first, alignFrameN=last if tail else 0)
        movie, (x, y) = motioncor_movie(protocol, index, entry, (first, last))
        assert movie.getAlignment().getRange() == (first, last)
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A'],
                                            dose_of(entry), first), entry['name'])
        assert verdict.layout.first_frame == first
        assert verdict.note == ''


@MOTIONCOR_PROTOCOLS
def test_motioncor_saving_aligned_movies_stores_no_trajectory(tmp_path, protocolClass):
    protocol = aligner(protocolClass, str(tmp_path), doSaveMovie=True, alignFrame0=3)
    for index, entry in enumerate(MOTIONCOR, start=1):
        movie, _ = motioncor_movie(protocol, index, entry, (3, len(entry['shift_x_px'])))
        xshifts, yshifts = movie.getAlignment().getShifts()
        assert not any(xshifts) and not any(yshifts)
        verdict = judged(movie)
        assert verdict.accepted
        assert verdict.metrics['maxFrameShift_A'] == verdict.metrics['totalTravel_A'] == 0
        assert verdict.note.startswith('%s: all shifts are zero' % MOTION_ABSENT)
        assert verdict.layout.kind == shift_layout.LAYOUT_NO_TRAJECTORY


def test_motioncor_new_streaming_saving_aligned_movies_stores_a_zero_per_movie_frame(tmp_path):
    # the case that used to discard a whole session: 40 zeros for frames 3-40
    protocol = aligner(ProtMotionCorrNewStreaming, str(tmp_path), doSaveMovie=True,
                       alignFrame0=3)
    entry = MOTIONCOR[0]
    movie, _ = motioncor_movie(protocol, 1, entry, (3, len(entry['shift_x_px'])))
    frames = len(entry['shift_x_px'])
    assert movie.getAlignment().getRange() == (3, frames)
    assert len(movie.getAlignment().getShifts()[0]) == frames
    verdict = judged(movie)
    assert verdict.accepted
    assert verdict.note == ('%s: all shifts are zero; %s: aligned frames 3-%d are %d '
                            'frames but there are %d shifts'
                            % (MOTION_ABSENT, FRAMES_UNKNOWN, frames, frames - 2, frames))


@MOTIONCOR_PROTOCOLS
def test_motioncor_log_of_eer_fractions(tmp_path, protocolClass):
    protocol = aligner(protocolClass, str(tmp_path))
    group = protocol.eerGroup.get()
    for index, entry in enumerate(MOTIONCOR, start=1):
        movie, (x, y) = motioncor_movie(protocol, index, entry, eerGroup=group)
        eerFrames = len(x) * group + 5
        # the range is the EER frames', the shifts are the fractions'
        assert movie.getAlignment().getRange() == (1, eerFrames)
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A']), entry['name'])
        assert verdict.metrics['earlyMotion_A'] is None
        assert verdict.metrics['lateMotion_A'] is None
        assert verdict.note == ('%s: aligned frames 1-%d are %d frames but there '
                                'are %d shifts' % (FRAMES_UNKNOWN, eerFrames,
                                                   eerFrames, len(x)))
        assert verdict.layout.describe().startswith('EER fractions: %d shifts for '
                                                    'aligned frames 1-%d' % (len(x), eerFrames))


# --------------------------------------------------------------------------
# RELION (scipion-em-relion 5.0.2)
# --------------------------------------------------------------------------

def relion(folder, entries, first=1, lastDropped=0, binning=1.0):
    """RELION's motion correction summing frames first..n - lastDropped (the
    last frame set as its _validate sets it when left at 0)."""
    frames = {len(entry['shift_x_px']) for entry in entries}
    assert len(frames) == 1
    return aligner(ProtRelionMotioncor, folder, sumFrame0=first,
                   sumFrameN=frames.pop() - lastDropped, binFactor=binning)


def test_relion_whole_movie_gives_relions_own_accumulated_motion(tmp_path):
    protocol = relion(str(tmp_path), TUTORIAL)
    assert len(TUTORIAL) == 49
    for index, entry in enumerate(TUTORIAL, start=1):
        movie, (x, y) = relion_movie(protocol, index, entry)
        verdict = judged(movie)
        pixelSize = entry['pixel_size_A']
        assert_figures(verdict, own_figures(x, y, pixelSize), entry['name'])
        total, early, late = (value * pixelSize for value in entry[RELION_KEY])
        assert_figures(verdict, {'totalTravel_A': total, 'earlyMotion_A': early,
                                 'lateMotion_A': late}, entry['name'] + ' (RELION)')


def test_relion_binned_shifts_are_in_pixels_of_the_original_movie(tmp_path):
    byFrames = {}
    for entry in BINNED:
        byFrames.setdefault(len(entry['shift_x_px']), []).append(entry)
    assert sum(len(group) for group in byFrames.values()) > 200
    for frames, entries in byFrames.items():
        protocol = relion(str(tmp_path / str(frames)), entries, binning=2.0)
        for index, entry in enumerate(entries, start=1):
            movie, (x, y) = relion_movie(protocol, index, entry)
            verdict = judged(movie)
            pixelSize = entry['pixel_size_A']  # of the movie, not the binned micrograph
            assert movie.getSamplingRate() == pixelSize
            assert_figures(verdict, own_figures(x, y, pixelSize), entry['name'])
            assert_figures(verdict, {'totalTravel_A': entry[RELION_KEY][0] * pixelSize},
                           entry['name'] + ' (RELION)')


def test_relion_summed_range_with_binning(tmp_path):
    protocol = relion(str(tmp_path), TUTORIAL, first=3, lastDropped=2, binning=2.0)
    for index, entry in enumerate(TUTORIAL[:12], start=1):
        movie, (x, y) = relion_movie(protocol, index, entry)
        assert movie.getAlignment().getRange() == (3, 22)
        assert len(x) == len(movie.getAlignment().getShifts()[0]) == 20
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A'],
                                            dose_of(entry), 3), entry['name'])
        assert verdict.layout.describe() == 'shifts for frames 3-22 of 22'


def test_relion_eer_fractions_are_numbered_but_their_dose_is_unknown(tmp_path):
    protocol = relion(str(tmp_path), TUTORIAL)
    for index, entry in enumerate(TUTORIAL[:6], start=1):
        movie, (x, y) = relion_movie(protocol, index, entry, eer=True)
        verdict = judged(movie)
        assert_figures(verdict, own_figures(x, y, entry['pixel_size_A']), entry['name'])
        assert verdict.metrics['earlyMotion_A'] is None
        assert verdict.layout.describe() == 'EER fractions: shifts for frames 1-24 of 24'
        assert verdict.layout.first_frame == 1
        assert verdict.note == ''  # no early/late limit set: nothing unchecked


def test_relion_eer_fractions_with_an_early_motion_limit_say_it_is_not_checked(tmp_path):
    protocol = relion(str(tmp_path), TUTORIAL)
    movie, _ = relion_movie(protocol, 1, TUTORIAL[0], eer=True)
    verdict, _ = MovieJudge(REJ_OR, 10.0, 45.0, maxEarly=1.0).judge(movie)
    assert verdict.accepted
    assert verdict.note == ('early/late motion not checked: %s: EER fractions, whose '
                            'dose the alignment does not store' % DOSE_ABSENT)


# --------------------------------------------------------------------------
# Real runs: what a user sees once per run
# --------------------------------------------------------------------------

def finished_aligner(project, protocolClass, make, **params):
    """A real aligner protocol in the project whose outputMovies are the
    movies make(protocol) returns, as if it had run and finished."""
    protocol = project.newProtocol(protocolClass, **params)
    project.saveProtocol(protocol)
    protocol.makePathsAndClean()
    movies = emobj.SetOfMovies(filename=protocol._getPath('movies.sqlite'))
    made = make(protocol)
    movies.setSamplingRate(made[0].getSamplingRate())
    movies.setAcquisition(made[0].getAcquisition().clone())
    for movie in made:
        movies.append(movie)
    movies.write()
    protocol._defineOutputs(outputMovies=movies)
    protocol.setStatus(STATUS_FINISHED)
    project._storeProtocol(protocol)
    return protocol


def run_maxshift(project, producer):
    maxshift = launch(project, new_maxshift(project, producer, pollInterval=0.5), wait=True)
    assert maxshift.getStatus() == 'finished', maxshift.getErrorMessage()
    movies = [m for name in MOVIE_OUTPUTS for m in output_items(maxshift, name)]
    log = ''.join(maxshift.getLogsAsStrings())
    stated = [line for line in maxshift.summary() if line.startswith('Input alignments')]
    return maxshift, movies, log, stated


def test_a_session_saved_by_motioncor_as_aligned_movies_is_accepted_and_explained(project):
    entries = TUTORIAL[:8]
    producer = finished_aligner(
        project, ProtMotionCorrNewStreaming,
        lambda protocol: [motioncor_movie(protocol, index, entry, (3, 24))[0]
                          for index, entry in enumerate(entries, start=1)],
        doSaveMovie=True, alignFrame0=3)
    maxshift, movies, log, stated = run_maxshift(project, producer)
    assert len(output_items(maxshift, OUTPUT_MOVIES)) == len(movies) == 8
    assert all(m.getAttributeValue(ATTR_MOTION_NOTE).startswith(MOTION_ABSENT)
               for m in movies)
    said = shift_layout.ShiftLayout(24, 3, 24, all_zero=True, movie_frames=24)
    assert stated == ['Input alignments: %s (8 movies)' % said.describe()]
    assert '  ' + said.advice() in maxshift.summary()
    assert log.count('Input alignments: ') == 1


def test_a_session_of_eer_movies_aligned_by_motioncor_measures_fractions(project):
    entries = TUTORIAL[:6]
    made = {}

    def make(protocol):
        for index, entry in enumerate(entries, start=1):
            made[index] = motioncor_movie(protocol, index, entry,
                                          eerGroup=protocol.eerGroup.get())
        return [movie for movie, _ in made.values()]
    producer = finished_aligner(project, ProtMotionCorrNewStreaming, make)
    maxshift, movies, log, stated = run_maxshift(project, producer)
    for movie in movies:
        x, y = made[movie.getObjId()][1]
        expected = own_figures(x, y, movie.getSamplingRate())['totalTravel_A']
        assert abs(movie.getAttributeValue(ATTR_TOTAL_TRAVEL) - expected) <= TOLERANCE_A
    assert len(movies) == 6 and all(m.isEnabled() for m in movies)
    eerFrames = 24 * producer.eerGroup.get() + 5
    assert stated == ['Input alignments: EER fractions: 24 shifts for aligned frames '
                      '1-%d (%d frames): frame numbers unknown (6 movies)'
                      % (eerFrames, eerFrames)]
    assert log.count('Input alignments: ') == 1
    assert 'set the max frame shift for a fraction' in log


def test_a_relion_session_with_a_summed_range_and_binning_says_which_frames(project):
    entries = TUTORIAL[:6]
    made = {}

    def make(protocol):
        for index, entry in enumerate(entries, start=1):
            made[index] = relion_movie(protocol, index, entry)
        return [movie for movie, _ in made.values()]
    producer = finished_aligner(project, ProtRelionMotioncor, make, sumFrame0=3,
                                sumFrameN=22, binFactor=2.0)
    maxshift, movies, log, stated = run_maxshift(project, producer)
    for movie in movies:
        x, y = made[movie.getObjId()][1]
        expected = own_figures(x, y, movie.getSamplingRate())['totalTravel_A']
        assert abs(movie.getAttributeValue(ATTR_TOTAL_TRAVEL) - expected) <= TOLERANCE_A
    assert stated == ['Input alignments: shifts for frames 3-22 of 22 (6 movies)']
    assert log.count('Input alignments: ') == 1
    stats = json.loads(maxshift.motionStats.get())
    assert [entry['count'] for entry in stats['layouts']] == [6]
