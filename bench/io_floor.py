"""I/O floor of movie maxshift: the same reads, decisions and writes, with no
protocol machinery (no launch, no steps, no polling, no run.db).

Run by run_bench.py in a fresh process, with Scipion already configured
through the environment (scipion_headless.configure in the parent):

    python bench/io_floor.py MOVIES MICS MICS_DW OUT_DIR RESULT_JSON

It reads the simulator's three sets once (iterItems), measures and decides
every movie with xmipp3.maxshift.motion (default rule: by frame or movie, 10 A, 45 A),
writes every movie and micrograph, annotated as the protocol annotates them,
into six accepted/discarded sets (append + write + close), and writes to
RESULT_JSON the time of that work (imports and plugin discovery excluded:
a protocol process does them before its step, so they are in the launch
floor), the process's peak RSS and the decisions (ids per output), which
are the reference the benchmarked runs are compared with.
"""
import json
import os
import resource
import sys
import time

IMPORT_STARTED = time.perf_counter()
import pwem.objects as emobj  # noqa: E402
import pyworkflow.object as pwobj  # noqa: E402

from pyworkflow.plugin import Domain  # noqa: E402
from xmipp3.maxshift import motion, names  # noqa: E402

# Plugin discovery (imports every plugin and pwem.viewers) runs lazily at the
# first set opened; a protocol process does it before its step starts, so it
# belongs to the launch floor: done here, outside the timed work.
Domain.getPlugins()
Domain.getObjects()
IMPORTS_SECONDS = time.perf_counter() - IMPORT_STARTED

# The protocol's defaults and output names (see README, Parameters/Outputs).
DEFAULT_RULE = (motion.REJ_OR, 10.0, 45.0)
SPLITS = {'movies': names.MOVIE_SPLIT,  # input -> (accepted, discarded)
          'mics': names.MIC_SPLITS[names.OUTPUT_MICS],
          'mics_dw': names.MIC_SPLITS[names.OUTPUT_MICS_DW]}


def _annotate(item, verdict):
    accepted, maxFrameShift, totalTravel, reason, note = verdict
    item.setEnabled(accepted)
    setattr(item, names.ATTR_MAX_FRAME_SHIFT, pwobj.Float(maxFrameShift))
    setattr(item, names.ATTR_TOTAL_TRAVEL, pwobj.Float(totalTravel))
    setattr(item, names.ATTR_DISCARD_REASON, pwobj.String(reason))
    setattr(item, names.ATTR_MOTION_NOTE, pwobj.String(note))


def _verdict(movie, rule):
    alignment = movie.getAlignment() if movie.hasAlignment() else None
    xshifts, yshifts = alignment.getShifts() if alignment else ([], [])
    measured = motion.measure_motion(xshifts, yshifts, movie.getSamplingRate())
    decision = motion.decide(measured, *rule)
    note = ('%s: %s' % (measured.quality, measured.problem)
            if measured.quality == motion.MOTION_ABSENT else '')

    def finite(value):
        return None if value != value else value
    return (decision.accepted, finite(measured.max_frame_shift),
            finite(measured.total_travel), decision.reason, note)


def split(moviesFile, micsFile, micsDwFile, outDir, rule=DEFAULT_RULE):
    """Read, decide and write; return the ids of each output."""
    os.makedirs(outDir, exist_ok=True)
    ids = {}
    verdicts = {}  # movie id -> verdict
    byMicName = {}  # micName -> movie id

    def outputs(setClass, inputSet, key):
        made = []
        for name in SPLITS[key]:
            outputSet = setClass(filename=os.path.join(outDir, name + '.sqlite'))
            outputSet.copyInfo(inputSet)
            made.append(outputSet)
            ids[name] = []
        return made

    movies = emobj.SetOfMovies(filename=moviesFile)
    accepted, discarded = outputs(emobj.SetOfMovies, movies, 'movies')
    for movie in movies.iterItems():
        verdict = _verdict(movie, rule)
        verdicts[movie.getObjId()] = verdict
        byMicName[movie.getMicName()] = movie.getObjId()
        _annotate(movie, verdict)
        target = accepted if verdict[0] else discarded
        target.append(movie)
        ids[SPLITS['movies'][not verdict[0]]].append(movie.getObjId())
    movies.close()
    for outputSet in (accepted, discarded):
        outputSet.write()
        outputSet.close()

    for key, fileName in (('mics', micsFile), ('mics_dw', micsDwFile)):
        mics = emobj.SetOfMicrographs(filename=fileName)
        accepted, discarded = outputs(emobj.SetOfMicrographs, mics, key)
        noMovie = (False, None, None, 'no movie', '')
        for mic in mics.iterItems():
            movieId = (mic.getObjId() if mic.getObjId() in verdicts
                       else byMicName.get(mic.getMicName()))
            verdict = verdicts.get(movieId, noMovie)
            _annotate(mic, verdict)
            (accepted if verdict[0] else discarded).append(mic)
            ids[SPLITS[key][not verdict[0]]].append(mic.getObjId())
        mics.close()
        for outputSet in (accepted, discarded):
            outputSet.write()
            outputSet.close()
    return ids


def main(argv):
    moviesFile, micsFile, micsDwFile, outDir, resultFile = argv
    started = time.perf_counter()
    ids = split(moviesFile, micsFile, micsDwFile, outDir)
    seconds = time.perf_counter() - started
    peakKb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(resultFile, 'w') as out:
        json.dump({'seconds': seconds, 'imports_seconds': IMPORTS_SECONDS,
                   'peak_rss_mb': peakKb / 1024.0,
                   'movies': sum(len(ids[name]) for name in names.MOVIE_SPLIT),
                   'ids': ids}, out)


if __name__ == '__main__':
    main(sys.argv[1:])
