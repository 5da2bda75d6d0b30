"""Shared helpers of the protocol tests: designed inputs, launching a static
run, the checks every run must pass (each movie once, micrographs following
their movie, the CSV equal to the outputs, the outputs' stream state), and
waiting for a condition with a deadline."""
import os
import sqlite3
import time

import numpy as np
import pytest

from xmipp3.maxshift import table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                                   refresh)
from xmipp3.protocols import XmippProtMovieMaxShift as MaxShift
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_MAX_FRAME_SHIFT, ATTR_MOTION_NOTE, ATTR_TOTAL_TRAVEL,
    OUTPUT_FILES, OUTPUT_MICS, OUTPUT_MICS_DISCARDED, OUTPUT_MICS_DW,
    OUTPUT_MICS_DW_DISCARDED, OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

MOVIE_OUTPUTS = (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
# How maxshift says that it waits for its producer (log and summary)
WAITING = 'to be continued; stop this protocol to close the outputs.'
MIC_OUTPUTS = {OUTPUT_MICS: OUTPUT_MICS_DISCARDED,
               OUTPUT_MICS_DW: OUTPUT_MICS_DW_DISCARDED}


def along_x(name, steps, pixel_size=1.0):
    """A trajectory moving along x by the given steps (A)."""
    x = np.concatenate([[0.0], np.cumsum(steps)]) / pixel_size
    return {'name': name, 'pixel_size_A': pixel_size,
            'shift_x_px': x.tolist(), 'shift_y_px': [0.0] * len(x)}


# id: (trajectory, max frame shift A, total travel A)
DESIGNED = {
    1: (along_x('calm', [1, 1, 1, 1]), 1.0, 4.0),
    2: (along_x('frame_jump', [1, 15, 1]), 15.0, 17.0),
    3: (along_x('drift', [5] * 12), 5.0, 60.0),
    4: (along_x('both', [20, 20, 20]), 20.0, 60.0),
    5: (along_x('at_limits', [10, 10, 10, 10, 5]), 10.0, 45.0),
}
DISCARDED_BY_RULE = {MaxShift.REJ_FRAME: {2, 4}, MaxShift.REJ_MOVIE: {3, 4},
                     MaxShift.REJ_AND: {4}, MaxShift.REJ_OR: {2, 3, 4}}


def ids(protocol, name):
    return {item.getObjId() for item in output_items(protocol, name)}


def run_static(project, tmp_json, trajectories, simParams=None, **maxParams):
    simParams = dict({'batchSize': 1000, 'samplingRate': 1.0}, **(simParams or {}))
    sim = launch(project, new_simulation(
        project, trajectoryFile=tmp_json(trajectories), **simParams), wait=True)
    assert sim.getStatus() == 'finished', sim.getErrorMessage()
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5,
                                            **maxParams), wait=True)
    assert maxshift.getStatus() == 'finished', maxshift.getErrorMessage()
    return sim, maxshift


def assert_split_consistent(sim, maxshift):
    """Every movie exactly once; micrographs follow their movie."""
    accepted, discarded = (ids(maxshift, name) for name in MOVIE_OUTPUTS)
    assert not accepted & discarded
    assert accepted | discarded == ids(sim, 'outputMovies')
    for item in output_items(maxshift, OUTPUT_MOVIES):
        assert item.isEnabled()
    for item in output_items(maxshift, OUTPUT_MOVIES_DISCARDED):
        assert not item.isEnabled()
        assert item.getAttributeValue(ATTR_DISCARD_REASON)
    for kept, dropped in MIC_OUTPUTS.items():
        if not sim.hasAttribute(kept):
            assert not maxshift.hasAttribute(kept)
            continue
        # a producer killed between its movies and their micrographs may
        # lack the last micrographs: each one it has follows its movie
        produced = ids(sim, kept)
        assert ids(maxshift, kept) == accepted & produced
        assert ids(maxshift, dropped) == produced - accepted
    assert_table_matches_outputs(maxshift)
    return accepted, discarded


def assert_table_matches_outputs(maxshift):
    """The CSV has one row per output movie, with the items' values."""
    rows = table.read_table(maxshift.getMotionTablePath())
    assert len(rows) == len({r['id'] for r in rows}), 'duplicate rows'
    byId = {r['id']: r for r in rows}
    movies = [m for name in MOVIE_OUTPUTS for m in output_items(maxshift, name)]
    assert set(byId) == {m.getObjId() for m in movies}
    for movie in movies:
        tableRow = byId[movie.getObjId()]
        assert tableRow['micName'] == movie.getMicName()
        assert tableRow['decision'] == (table.ACCEPTED if movie.isEnabled() else table.DISCARDED)
        assert tableRow['reason'] == movie.getAttributeValue(ATTR_DISCARD_REASON)
        assert tableRow['note'] == movie.getAttributeValue(ATTR_MOTION_NOTE)
        for column, attribute in (('maxFrameShift_A', ATTR_MAX_FRAME_SHIFT),
                                  ('totalTravel_A', ATTR_TOTAL_TRAVEL)):
            value = movie.getAttributeValue(attribute)
            assert tableRow[column] == (None if value is None else pytest.approx(value, rel=1e-5))


def wait_for(condition, what, timeout=120, poll=0.2):
    """Poll condition() until it is true; fail after timeout s."""
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, 'after %s s: not %s' % (timeout, what)
        time.sleep(poll)


def hold_while_active(project, maxshift, until):
    """Check every second until then that maxshift has not given up."""
    while time.time() < until:
        assert refresh(project, maxshift).isActive(), 'maxshift gave up on its producer'
        time.sleep(1.0)


def log_of(protocol):
    return ''.join(protocol.getLogsAsStrings())


def stream_state_in_files(maxshift):
    """Output name -> 'open' / 'closed' as stored in each output's own file."""
    folder = os.path.join(maxshift.getProject().path, maxshift.getWorkingDir())
    states = {}
    for name, fileName in OUTPUT_FILES.items():
        path = os.path.join(folder, fileName)
        if os.path.exists(path):
            connection = sqlite3.connect('file:%s?mode=ro' % path, uri=True, timeout=30)
            try:
                value, = connection.execute("SELECT value FROM Properties "
                                            "WHERE key='_streamState'").fetchone()
            finally:
                connection.close()
            states[name] = {'1': 'open', '2': 'closed'}[str(value)]
    return states


def assert_outputs(maxshift, state):
    """Every output is in state, in the protocol's record and in its file."""
    for name, _ in maxshift.iterOutputAttributes():
        output = getattr(maxshift, name)
        assert (output.isStreamOpen() if state == 'open' else output.isStreamClosed()), name
    assert set(stream_state_in_files(maxshift).values()) == {state}


def assert_each_once(sim, maxshift, expected):
    """expected movies, each in exactly one output, nothing twice anywhere."""
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert len(accepted) + len(discarded) == expected
    for name in MOVIE_OUTPUTS + tuple(MIC_OUTPUTS) + tuple(MIC_OUTPUTS.values()):
        items = [item.getObjId() for item in output_items(maxshift, name)]
        assert len(items) == len(set(items)), 'duplicates in %s' % name


def classified(maxshift):
    return sum(len(ids(maxshift, name)) for name in MOVIE_OUTPUTS)


def report(figures):
    """Print a test's figures (shown with pytest -s or -rP)."""
    print('FIGURES ' + ', '.join('%s=%s' % item for item in figures.items()))
