"""The protocol that makes maxshift's input, seen from the maxshift run
(xmipp3.maxshift.producer), in-process on real protocol objects of the real
headless test project.

micrographFiles(): which micrograph outputs an alignment protocol has now.
ProducerWatch: the producer re-read from its own run.db. The run.db is made
as launchProtocol makes it (a copy of the project's database in the run's
logs folder), and the producer "runs" as a launched protocol does: its
object loaded from that run.db (getProtocolFromDb) with its status and pid
stored there. No process is launched."""
import os
import subprocess
import sys
import time

import pytest

import pwem.objects as emobj
import pyworkflow.utils as pwutils
from pyworkflow.protocol import getProtocolFromDb

from xmipp3.maxshift import upstream
from xmipp3.maxshift.producer import ProducerWatch, micrographFiles
from xmipp3.protocols import XmippProtMovieMaxShift
from xmipp3.protocols.protocol_simulate_aligned_movies import \
    XmippProtSimulateAlignedMovies

# A status written within the same tick of the file system's clock as the
# previous one leaves the run.db's stamp (mtime, size) the same; wait a few.
CLOCK_TICK = 0.03


def output_set(setClass, folder, name):
    outputSet = setClass(filename=os.path.join(folder, name + '.sqlite'))
    outputSet.setSamplingRate(1.0)
    outputSet.write()
    outputSet.close()
    return outputSet


# --------------------------------------------------------------------------
# micrographFiles
# --------------------------------------------------------------------------

def test_no_producer_protocol_has_no_micrograph_files():
    assert micrographFiles(None) == {}


@pytest.mark.parametrize('outputs', [
    (), ('outputMicrographs',), ('outputMicrographsDoseWeighted',),
    ('outputMicrographs', 'outputMicrographsDoseWeighted')])
def test_micrograph_files_are_the_micrograph_outputs_the_producer_has(
        project, tmp_path, outputs):
    producer = project.newProtocol(XmippProtSimulateAlignedMovies)
    producer._defineOutputs(outputMovies=output_set(emobj.SetOfMovies, str(tmp_path),
                                                    'movies'))
    for name in outputs:
        producer._defineOutputs(**{name: output_set(emobj.SetOfMicrographs,
                                                    str(tmp_path), name)})
    assert micrographFiles(producer) == {
        name: os.path.join(str(tmp_path), name + '.sqlite') for name in outputs}


def test_a_micrograph_output_without_a_file_yet_is_not_listed(project, tmp_path):
    producer = project.newProtocol(XmippProtSimulateAlignedMovies)
    producer.outputMicrographs = emobj.SetOfMicrographs()  # no file name
    producer._defineOutputs(outputMicrographsDoseWeighted=output_set(
        emobj.SetOfMicrographs, str(tmp_path), 'dw'))
    assert micrographFiles(producer) == {
        'outputMicrographsDoseWeighted': os.path.join(str(tmp_path), 'dw.sqlite')}


# --------------------------------------------------------------------------
# ProducerWatch
# --------------------------------------------------------------------------

@pytest.fixture
def producer(project):
    """An alignment protocol saved in the project, with its run.db made as
    launchProtocol makes it."""
    protocol = project.newProtocol(XmippProtSimulateAlignedMovies)
    project.saveProtocol(protocol)
    protocol.makePathsAndClean()
    pwutils.path.copyFile(project.getDbPath(), protocol.getDbPath())
    return protocol


def maxshift_on(project, producer):
    maxshift = project.newProtocol(XmippProtMovieMaxShift)
    maxshift.inputMovies.set(producer)
    maxshift.inputMovies.setExtended('outputMovies')
    return maxshift


def running_as_launched(project, producer):
    """The producer as its own process has it: loaded from its run.db,
    where what it stores goes."""
    return getProtocolFromDb(project.path, producer.getDbPath(), producer.getObjId())


def writes(running, change):
    """The producer's process changes its state and stores it in its run.db."""
    time.sleep(CLOCK_TICK)
    change(running)
    running._store()


def dead_pid():
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait()
    return process.pid


def test_without_a_producer_protocol_nothing_is_observed(project, tmp_path):
    maxshift = project.newProtocol(XmippProtMovieMaxShift)
    maxshift.inputMovies.set(output_set(emobj.SetOfMovies, str(tmp_path), 'movies'))
    watch = ProducerWatch(maxshift)
    assert watch.producer is None
    assert watch.name() == ''
    assert watch.observe() == (None, '')
    assert not watch.changed()


def test_the_producers_status_is_read_from_its_run_db(project, producer):
    watch = ProducerWatch(maxshift_on(project, producer))
    assert watch.name() == producer.getRunName()
    running = running_as_launched(project, producer)

    writes(running, lambda p: (p.setRunning(), p.setPid(os.getpid())))
    assert watch.observe() == (upstream.RUNNING, 'running')

    writes(running, lambda p: p.setFinished())
    assert watch.observe() == (upstream.FINISHED, 'finished')


def test_a_failed_producer_is_down_since_its_end(project, producer):
    watch = ProducerWatch(maxshift_on(project, producer))
    running = running_as_launched(project, producer)
    writes(running, lambda p: p.setFailed('out of memory'))
    state, description = watch.observe()
    assert state == upstream.DOWN
    assert description == 'failed at %s' % running.endTime.datetime().strftime('%H:%M')


def test_a_running_producer_whose_process_is_gone_is_down_until_it_runs_again(
        project, producer):
    watch = ProducerWatch(maxshift_on(project, producer))
    running = running_as_launched(project, producer)
    pid = dead_pid()
    writes(running, lambda p: (p.setRunning(), p.setPid(pid)))
    state, description = watch.observe()
    assert state == upstream.DOWN
    assert description.startswith('its process %d is gone, seen at ' % pid)
    assert watch.goneSince is not None
    # continued: a new process
    writes(running, lambda p: p.setPid(os.getpid()))
    assert watch.observe() == (upstream.RUNNING, 'running')
    assert watch.goneSince is None


def test_changed_follows_the_run_db_stamp(project, producer):
    watch = ProducerWatch(maxshift_on(project, producer))
    assert watch.changed()  # never read yet
    watch.observe()
    assert not watch.changed()
    running = running_as_launched(project, producer)
    writes(running, lambda p: (p.setRunning(), p.setPid(os.getpid())))
    assert watch.changed()
    watch.observe()
    assert not watch.changed()
    assert not watch.changed()  # asking does not read it
