"""The classify step's state (xmipp3.maxshift.classification.Classification)
driven in-process, poll by poll, on a REAL maxshift protocol object of the
real headless test project, without launching it.

How it is set up (no stand-in):
- the alignment protocol is a real protocol saved in the project (the
  simulator's class, which pyworkflow can load back); its output sets are
  sqlite files in a temporary folder written here in code, with pwem's own
  SetOfMovies / SetOfMicrographs, as a producer streams them: created open,
  then rows appended and committed;
- the maxshift protocol is made with project.newProtocol, its inputMovies
  pointing at the producer's outputMovies, saved (id and run folder) and its
  folders made (makePathsAndClean). Its mapper is the project's, as
  newProtocol sets it: _store and _updateOutputSet record its outputs in the
  project's database (a launched run records them in its run.db, then the
  project copies them; the calls are the same).

Outputs are checked as the project sees them: the protocol read back from
the project's database, and its set files. The last test drives the output
sets' writer (streaming.OutputSets) on the same protocol directly."""
import os

import pytest

import pwem.objects as emobj
from pyworkflow.object import Set
from pyworkflow.protocol import getProtocolFromDb

from xmipp3.maxshift import table
from xmipp3.maxshift.classification import Classification
from xmipp3.maxshift.motion import REJ_OR
from xmipp3.maxshift.producer import micrographFiles
from xmipp3.maxshift.streaming import OutputSets, countRows
from xmipp3.maxshift.verdict import MovieJudge
from xmipp3.protocols import XmippProtMovieMaxShift
from xmipp3.protocols.protocol_simulate_aligned_movies import \
    XmippProtSimulateAlignedMovies

MOVIES, MOVIES_DISCARDED = 'outputMovies', 'outputMoviesDiscarded'
MICS, MICS_DISCARDED = 'outputMicrographs', 'outputMicrographsDiscarded'
MICS_DW, MICS_DW_DISCARDED = ('outputMicrographsDoseWeighted',
                              'outputMicrographsDoseWeightedDiscarded')
ALL_OUTPUTS = (MOVIES, MOVIES_DISCARDED, MICS, MICS_DISCARDED, MICS_DW,
               MICS_DW_DISCARDED)

# The rule of these tests: by frame or movie, 10 Å and 45 Å
RULE = (REJ_OR, 10.0, 45.0)
STILL = [1.0, 1.0, 1.0]        # steps (Å): accepted
JUMP = [1.0, 20.0, 1.0]        # max frame shift 20 Å: discarded
DRIFT = [5.0] * 10             # total travel 50 Å: discarded
JUMP_REASON = 'max frame shift: 20.00 Å > 10 Å at frame 3 (rule by frame or movie)'


def movie(movieId, steps, micName=None):
    """An aligned movie (1 Å/px) whose frames step along x by steps (Å)."""
    positions = [0.0]
    for step in steps:
        positions.append(positions[-1] + step)
    item = emobj.Movie(location='/data/movie_%03d.mrcs' % movieId)
    item.setObjId(movieId)
    item.setMicName(micName or 'movie_%03d.mrc' % movieId)
    item.setFramesRange((1, len(positions), 1))
    item.setAlignment(emobj.MovieAlignment(first=1, last=len(positions),
                                           xshifts=positions,
                                           yshifts=[0.0] * len(positions)))
    return item


def micrograph(micId, micName=None):
    item = emobj.Micrograph(location='/data/mic_%03d.mrc' % micId)
    item.setObjId(micId)
    item.setMicName(micName or 'movie_%03d.mrc' % micId)
    return item


class Alignment:
    """A real alignment protocol saved in the project, whose outputs are set
    files written here in code as it would stream them."""

    def __init__(self, project, folder):
        self.folder = folder
        self.protocol = project.newProtocol(XmippProtSimulateAlignedMovies)
        project.saveProtocol(self.protocol)

    def emit(self, name, *items, samplingRate=1.0):
        """Append items to an output (created open, with its sampling rate
        and dose, on its first items) and commit them."""
        path = os.path.join(self.folder, name + '.sqlite')
        setClass = emobj.SetOfMovies if name == MOVIES else emobj.SetOfMicrographs
        exists = os.path.exists(path)
        output = setClass(filename=path)
        if exists:
            output.loadAllProperties()
            output.enableAppend()
        else:
            output.setSamplingRate(samplingRate)
            acquisition = output.getAcquisition()
            acquisition.setVoltage(300.0)
            acquisition.setDosePerFrame(1.0)
            acquisition.setDoseInitial(0.0)
            output.setStreamState(Set.STREAM_OPEN)
        for item in items:
            output.append(item)
        output.write()
        if not self.protocol.hasAttribute(name):
            self.protocol._defineOutputs(**{name: output})
            self.protocol._store()
        output.close()

    def micrographFiles(self):
        return micrographFiles(self.protocol)


@pytest.fixture
def alignment(project, tmp_path):
    return Alignment(project, str(tmp_path))


@pytest.fixture
def maxshift(project, alignment):
    """A maxshift protocol on the alignment's movies, saved, with its folders."""
    protocol = project.newProtocol(XmippProtMovieMaxShift, rejType=RULE[0],
                                   maxFrameShift=RULE[1], maxMovieShift=RULE[2])
    protocol.inputMovies.set(alignment.protocol)
    protocol.inputMovies.setExtended(MOVIES)
    project.saveProtocol(protocol)
    protocol.makePathsAndClean()
    return protocol


def classification(protocol):
    """The step's state as the protocol sets it up: resumed from its outputs."""
    run = Classification(protocol, MovieJudge(*RULE), reached=lambda point: None)
    run.resume()
    return run


def saved(project, protocol):
    """The protocol as the project's database holds it, read afresh (the
    project's own mapper keeps the objects it loaded once)."""
    stored = getProtocolFromDb(project.path, project.getDbPath(), protocol.getObjId())
    stored.getProject().closeMapper()
    stored.closeMappers()
    return stored


def output_items(project, protocol, name):
    """The items of an output as the project sees it, by id; {} when absent."""
    stored = saved(project, protocol)
    if not stored.hasAttribute(name):
        return {}
    output = getattr(stored, name)
    try:
        return {item.getObjId(): item.clone(copyEnable=True) for item in output}
    finally:
        output.close()


def output_ids(project, protocol, *names):
    return {name: sorted(output_items(project, protocol, name))
            for name in names or ALL_OUTPUTS}


def stream_states(project, protocol):
    """Each output's stream state, in the project's database and in its file."""
    states = {}
    for name, output in saved(project, protocol).iterOutputAttributes():
        inFile = type(output)(filename=output.getFileName())
        inFile.loadAllProperties()
        states[name] = (output.getStreamState(), inFile.getStreamState())
        inFile.close()
    return states


# --------------------------------------------------------------------------
# Splitting movies and their micrographs
# --------------------------------------------------------------------------

def test_movies_are_split_by_the_rule_and_micrographs_follow_their_movie_by_id(
        project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL), movie(2, JUMP), movie(3, STILL),
                   movie(4, DRIFT))
    alignment.emit(MICS, *[micrograph(i) for i in (1, 2, 3, 4)], samplingRate=2.0)
    run = classification(maxshift)
    assert run.read(alignment.micrographFiles()) == (4, 4)
    run.commit()

    assert output_ids(project, maxshift) == {
        MOVIES: [1, 3], MOVIES_DISCARDED: [2, 4], MICS: [1, 3],
        MICS_DISCARDED: [2, 4], MICS_DW: [], MICS_DW_DISCARDED: []}
    movies = output_items(project, maxshift, MOVIES_DISCARDED)
    mics = output_items(project, maxshift, MICS_DISCARDED)
    assert movies[2]._xmipp_discardReason.get() == JUMP_REASON
    assert mics[2]._xmipp_discardReason.get() == JUMP_REASON
    assert mics[4]._xmipp_discardReason.get() == \
        'total travel: 50.00 Å > 45 Å (rule by frame or movie)'
    assert not movies[2].isEnabled() and not mics[2].isEnabled()
    assert mics[2]._xmipp_maxFrameShift.get() == 20.0
    assert output_items(project, maxshift, MICS)[1]._xmipp_discardReason.get() == ''
    # each output keeps the information of its own input set
    stored = saved(project, maxshift)
    assert stored.outputMicrographs.getSamplingRate() == 2.0
    assert stored.outputMovies.getSamplingRate() == 1.0
    # the table has one row per movie, as decided
    rows = {row['id']: row for row in table.read_table(maxshift.getMotionTablePath())}
    assert {i: rows[i]['decision'] for i in rows} == {
        1: 'accepted', 2: 'discarded', 3: 'accepted', 4: 'discarded'}
    assert rows[2]['reason'] == JUMP_REASON
    assert run.tally.counts == {'processed': 4, 'accepted': 2, 'max frame shift': 1,
                                'total travel': 1}


def test_a_micrograph_with_another_id_follows_its_movie_by_micName(
        project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL, 'a.mrc'), movie(2, JUMP, 'b.mrc'))
    # an aligner that numbers its micrographs on its own
    alignment.emit(MICS, micrograph(101, 'b.mrc'), micrograph(102, 'a.mrc'))
    run = classification(maxshift)
    run.read(alignment.micrographFiles())
    run.commit()
    assert output_ids(project, maxshift, MICS, MICS_DISCARDED) == {
        MICS: [102], MICS_DISCARDED: [101]}
    assert output_items(project, maxshift, MICS_DISCARDED)[101] \
        ._xmipp_discardReason.get() == JUMP_REASON
    assert run.pendingMics[MICS] == []


def test_a_micrograph_read_before_its_movie_waits_and_is_split_when_the_movie_comes(
        project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL))
    alignment.emit(MICS, micrograph(1), micrograph(2))
    run = classification(maxshift)
    assert run.read(alignment.micrographFiles()) == (1, 2)
    assert [mic.getObjId() for mic in run.pendingMics[MICS]] == [2]
    run.commit()
    assert output_ids(project, maxshift, MICS, MICS_DISCARDED) == {
        MICS: [1], MICS_DISCARDED: []}

    alignment.emit(MOVIES, movie(2, JUMP))
    assert run.read(alignment.micrographFiles()) == (1, 0)
    run.commit()
    assert run.pendingMics[MICS] == []
    assert output_ids(project, maxshift, MICS, MICS_DISCARDED) == {
        MICS: [1], MICS_DISCARDED: [2]}
    assert output_items(project, maxshift, MICS_DISCARDED)[2] \
        ._xmipp_discardReason.get() == JUMP_REASON


def test_a_micrograph_set_created_later_is_split_too(project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL), movie(2, JUMP))
    run = classification(maxshift)
    assert run.read(alignment.micrographFiles()) == (2, 0)
    run.commit()
    # the aligner adds its dose-weighted micrographs after maxshift started
    alignment.emit(MICS_DW, micrograph(1), micrograph(2))
    assert run.read(alignment.micrographFiles()) == (0, 2)
    run.commit()
    assert output_ids(project, maxshift, MICS_DW, MICS_DW_DISCARDED) == {
        MICS_DW: [1], MICS_DW_DISCARDED: [2]}


def test_an_orphan_micrograph_is_discarded_at_close_as_no_movie(
        project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL))
    alignment.emit(MICS, micrograph(1), micrograph(7, 'orphan.mrc'))
    run = classification(maxshift)
    run.read(alignment.micrographFiles())
    run.commit()
    # it waits while its movie may still come
    assert output_ids(project, maxshift, MICS, MICS_DISCARDED) == {
        MICS: [1], MICS_DISCARDED: []}
    run.close()
    orphan = output_items(project, maxshift, MICS_DISCARDED)[7]
    assert orphan._xmipp_discardReason.get() == \
        'no movie: no input movie has id 7 or micName orphan.mrc'
    assert not orphan.isEnabled()
    assert orphan._xmipp_maxFrameShift.get() is None
    # it is not a movie: the counts are the movies'
    assert run.tally.counts == {'processed': 1, 'accepted': 1}


# --------------------------------------------------------------------------
# Resuming from the outputs (Continue, a full disk)
# --------------------------------------------------------------------------

def _verdict_fields(verdict):
    return (verdict.accepted, verdict.reason, verdict.criterion, verdict.metrics,
            verdict.texts, verdict.note, verdict.flagged)


def _table(protocol):
    return {row['id']: row for row in table.read_table(protocol.getMotionTablePath())}


def test_a_resumed_classification_takes_back_verdicts_counts_and_table(
        project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL), movie(2, JUMP), movie(3, DRIFT),
                   movie(4, [0.0, 0.0]), movie(5, [1.0, 30.0, 1.0] * 2))
    alignment.emit(MICS, *[micrograph(i) for i in range(1, 6)])
    first = classification(maxshift)
    first.read(alignment.micrographFiles())
    first.commit()
    verdicts = {i: _verdict_fields(v) for i, v in first.verdicts.items()}
    rows = _table(maxshift)

    again = classification(maxshift)
    assert {i: _verdict_fields(v) for i, v in again.verdicts.items()} == verdicts
    assert again.tally.counts == first.tally.counts
    assert again.tally.flagged == first.tally.flagged == ['movie_004.mrc']
    assert again.tally.record() == first.tally.record()
    assert _table(maxshift) == rows  # rewritten from the outputs, the same
    # nothing already classified is read again, nothing written twice
    assert again.read(alignment.micrographFiles()) == (0, 0)
    again.commit()
    assert output_ids(project, maxshift) == {
        MOVIES: [1, 4], MOVIES_DISCARDED: [2, 3, 5], MICS: [1, 4],
        MICS_DISCARDED: [2, 3, 5], MICS_DW: [], MICS_DW_DISCARDED: []}
    assert sorted(_table(maxshift)) == [1, 2, 3, 4, 5]


def test_what_was_not_committed_is_classified_again_after_resume_once(
        project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL), movie(2, JUMP))
    alignment.emit(MICS, micrograph(1), micrograph(2))
    first = classification(maxshift)
    first.read(alignment.micrographFiles())
    first.commit()
    alignment.emit(MOVIES, movie(3, JUMP), movie(4, STILL))
    alignment.emit(MICS, micrograph(3), micrograph(4))
    assert first.read(alignment.micrographFiles()) == (2, 2)
    first.discard()  # a failure before the commit: nothing of it is kept
    assert output_ids(project, maxshift, MOVIES, MOVIES_DISCARDED) == {
        MOVIES: [1], MOVIES_DISCARDED: [2]}

    again = classification(maxshift)
    assert sorted(again.verdicts) == [1, 2]
    assert again.read(alignment.micrographFiles()) == (2, 2)
    again.commit()
    assert output_ids(project, maxshift) == {
        MOVIES: [1, 4], MOVIES_DISCARDED: [2, 3], MICS: [1, 4],
        MICS_DISCARDED: [2, 3], MICS_DW: [], MICS_DW_DISCARDED: []}
    stored = saved(project, maxshift)
    for name in (MOVIES, MOVIES_DISCARDED, MICS, MICS_DISCARDED):
        output = getattr(stored, name)
        assert countRows(output.getFileName()) == output.getSize() == 2
    assert [row['id'] for row in table.read_table(maxshift.getMotionTablePath())] \
        == [1, 2, 3, 4]
    assert again.tally.counts == {'processed': 4, 'accepted': 2, 'max frame shift': 2}


# --------------------------------------------------------------------------
# The outputs' life cycle
# --------------------------------------------------------------------------

def test_outputs_are_open_while_streaming_closed_at_the_end_and_reopened_on_continue(
        project, alignment, maxshift):
    OPEN, CLOSED = Set.STREAM_OPEN, Set.STREAM_CLOSED
    alignment.emit(MOVIES, movie(1, STILL), movie(2, JUMP))
    alignment.emit(MICS, micrograph(1), micrograph(2))
    run = classification(maxshift)
    assert stream_states(project, maxshift) == {}  # an output appears with its items
    run.read(alignment.micrographFiles())
    run.commit()
    assert stream_states(project, maxshift) == {
        name: (OPEN, OPEN) for name in (MOVIES, MOVIES_DISCARDED, MICS, MICS_DISCARDED)}
    run.close()
    assert stream_states(project, maxshift) == {
        name: (CLOSED, CLOSED) for name in (MOVIES, MOVIES_DISCARDED, MICS,
                                            MICS_DISCARDED)}
    assert all(output.isStreamClosed() for _, output in maxshift.iterOutputAttributes())

    # Continue: the outputs are open again while it adds to them
    resumed = classification(maxshift)
    assert stream_states(project, maxshift) == {
        name: (OPEN, OPEN) for name in (MOVIES, MOVIES_DISCARDED, MICS, MICS_DISCARDED)}
    alignment.emit(MOVIES, movie(3, STILL))
    alignment.emit(MICS, micrograph(3))
    assert resumed.read(alignment.micrographFiles()) == (1, 1)
    resumed.close()
    assert stream_states(project, maxshift) == {
        name: (CLOSED, CLOSED) for name in (MOVIES, MOVIES_DISCARDED, MICS,
                                            MICS_DISCARDED)}
    assert output_ids(project, maxshift, MOVIES, MICS) == {MOVIES: [1, 3], MICS: [1, 3]}
    assert saved(project, maxshift).outputMovies.getSize() == 2


def test_the_outputs_are_related_to_the_input_movies(project, alignment, maxshift):
    alignment.emit(MOVIES, movie(1, STILL), movie(2, JUMP))
    run = classification(maxshift)
    run.read(alignment.micrographFiles())
    run.commit()
    stored = saved(project, maxshift)
    relations = {(r['object_parent_id'], r['object_parent_extended'], r['object_child_id'])
                 for r in project.mapper.getRelationsByCreator(maxshift)}
    assert relations == {(alignment.protocol.getObjId(), MOVIES, output.getObjId())
                         for output in (stored.outputMovies,
                                        stored.outputMoviesDiscarded)}


# --------------------------------------------------------------------------
# OutputSets, on the same protocol
# --------------------------------------------------------------------------

def _written_ids(outputs, name):
    return [item.getObjId() for item in outputs.iterWritten(name)]


def test_output_sets_keep_what_was_committed_and_append_to_it_on_reopen(
        project, maxshift):
    files = {MOVIES: 'movies_accepted.sqlite'}
    outputs = OutputSets(maxshift, files, maxshift._possibleOutputs)
    template = emobj.SetOfMovies()
    template.setSamplingRate(1.5)
    outputs.append(MOVIES, movie(1, STILL), template)
    assert _written_ids(outputs, MOVIES) == []  # not committed yet
    outputs.commit()
    assert outputs.path(MOVIES) == maxshift._getPath('movies_accepted.sqlite')
    assert _written_ids(outputs, MOVIES) == [1]
    stored = saved(project, maxshift).outputMovies
    assert (stored.getSize(), stored.isStreamOpen(), stored.getSamplingRate()) == \
        (1, True, 1.5)

    outputs.append(MOVIES, movie(2, STILL), template)
    outputs.discard()  # dropped: the file keeps what was committed
    assert _written_ids(outputs, MOVIES) == [1]
    assert countRows(outputs.path(MOVIES)) == 1

    maxshift._closeOutputSet()
    again = OutputSets(maxshift, files, maxshift._possibleOutputs)
    again.reopen()
    assert saved(project, maxshift).outputMovies.isStreamOpen()
    again.append(MOVIES, movie(3, STILL), None)
    again.commit()
    assert _written_ids(again, MOVIES) == [1, 3]
    stored = saved(project, maxshift).outputMovies
    assert (stored.getSize(), stored.getSamplingRate()) == (2, 1.5)


def test_a_new_output_file_is_created_once_never_removed_under_a_reader(
        maxshift, monkeypatch):
    """A reader (the next protocol, a dashboard) that saw an output's file
    must be able to open it: its first write creates it once."""
    import xmipp3.maxshift.streaming as streaming
    removed = []
    monkeypatch.setattr(streaming.os, 'remove', lambda path: (
        removed.append(path), os.unlink(path)))
    outputs = OutputSets(maxshift, {MOVIES: 'movies_accepted.sqlite'},
                         maxshift._possibleOutputs)
    outputs.append(MOVIES, movie(1, STILL), emobj.SetOfMovies())
    outputs.commit()
    assert removed == [] and _written_ids(outputs, MOVIES) == [1]
