"""Shared by the aligner fixture tests: the bundled trajectories to align,
movies as an import makes them, real aligner protocol objects, the
trajectories' own figures, and movie maxshift's judge on the result."""
import os

import numpy as np
import pwem.objects as emobj

from xmipp3.maxshift.motion import MOTION_INVALID, REJ_OR
from xmipp3.maxshift.simulation import load_trajectories
from xmipp3.maxshift.verdict import MovieJudge

TOLERANCE_A = 1e-3
RELION_KEY = 'relion_accum_motion_total_early_late_px'
ENTRIES = load_trajectories()
# RELION tutorial movies (1.277 e/A2 per frame, no binning), with RELION's
# own total, early and late motion
TUTORIAL = [e for e in ENTRIES if RELION_KEY in e and e.get('binning') == 1.0]
# EMPIAR-10164 tilt movies aligned by RELION with binning 2 (RELION's total)
BINNED = [e for e in ENTRIES if RELION_KEY in e and e.get('binning') == 2.0]
# MotionCor2 logs from a facility, and a few tutorial movies
MOTIONCOR = [e for e in ENTRIES if e['source'] == 'nysbc/appion'] + TUTORIAL[:6]


def as_written(values, decimals):
    """The numbers as a file printed with that many decimals holds them."""
    return np.array([float('%.*f' % (decimals, value)) for value in values])


def own_figures(x, y, pixelSize, dose=None, firstFrame=1, cutoff=4.0):
    """A trajectory's own figures (A), straight from its frame steps; with a
    dose, RELION's early/late split (early: steps to frames f <= c, frames
    numbered from the first aligned one, c = (cutoff - pre-exposure) / dose)."""
    steps = np.hypot(np.diff(x), np.diff(y)) * pixelSize
    figures = {'maxFrameShift_A': steps.max(), 'totalTravel_A': steps.sum()}
    if dose:
        early = np.arange(2, len(x) + 1) <= (cutoff - (firstFrame - 1) * dose) / dose
        figures.update(earlyMotion_A=steps[early].sum(), lateMotion_A=steps[~early].sum())
    return figures


def dose_of(entry):
    return entry.get('dose_per_frame_e_per_A2') or 1.0


def shifts_of(entry, frames=None):
    """The entry's shifts (px), of frames first..last (1-based) if given."""
    x = np.asarray(entry['shift_x_px'], dtype=float)
    y = np.asarray(entry['shift_y_px'], dtype=float)
    if frames:
        first, last = frames
        x, y = x[first - 1:last], y[first - 1:last]
    return x, y


def imported_movie(folder, index, entry, frames, extension='.tiff'):
    """A movie as Scipion's import makes it: file, frames 1..frames,
    sampling rate and dose (no alignment)."""
    name = 'movie_%03d%s' % (index, extension)
    movie = emobj.Movie(location=os.path.join(folder, name))
    movie.setObjId(index)
    movie.setMicName(name)
    movie.setSamplingRate(entry['pixel_size_A'])
    movie.setFramesRange((1, frames, 1))
    acquisition = emobj.Acquisition()
    movie.setAcquisition(acquisition)
    acquisition.setVoltage(300.0)
    acquisition.setDosePerFrame(dose_of(entry))
    acquisition.setDoseInitial(0.0)
    return movie


def aligner(protocolClass, folder, **params):
    """A real aligner protocol object, parameters set as a user would, with
    its working folder (where the program's files go) in folder."""
    protocol = protocolClass(**params)
    protocol.setWorkingDir(os.path.join(folder, protocolClass.__name__))
    os.makedirs(protocol._getExtraPath(), exist_ok=True)
    return protocol


def judged(movie):
    """Movie maxshift's verdict on an aligned movie (default rule and
    limits), which must not call it invalid."""
    verdict, _ = MovieJudge(REJ_OR, 10.0, 45.0).judge(movie)
    assert not verdict.reason.startswith(MOTION_INVALID), verdict.reason
    return verdict


def assert_figures(verdict, expected, label):
    """The verdict's figures equal the expected ones (A) within 1e-3 A."""
    for column, value in expected.items():
        assert abs(verdict.metrics[column] - value) <= TOLERANCE_A, (
            '%s: %s %.6f A, the trajectory\'s own %.6f A'
            % (label, column, verdict.metrics[column], value))
