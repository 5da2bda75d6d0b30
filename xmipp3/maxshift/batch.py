"""Drive the plugin's protocols from a Python batch script (no GUI).

Configure Scipion first (see scipion_headless), then:

    sim = launch(project, new_simulation(project, batchSize=20))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, maxFrameShift=8))
    wait_until_done(project, maxshift)
    print(output_ids(project, maxshift))
"""
import time

from pyworkflow.plugin import Domain
from pyworkflow.protocol import STATUS_FINISHED

from xmipp3.maxshift.names import OUTPUT_MOVIES

MAXSHIFT = 'XmippProtMovieMaxShift'
SIMULATOR = 'XmippProtSimulateAlignedMovies'


def new_simulation(project, **params):
    """A simulator of aligned movies (not launched yet)."""
    return project.newProtocol(Domain.findClass(SIMULATOR), **params)


def new_maxshift(project, alignment, movies=OUTPUT_MOVIES, **params):
    """Movie maxshift on the movies output of an alignment protocol."""
    maxshift = project.newProtocol(Domain.findClass(MAXSHIFT), **params)
    maxshift.inputMovies.set(alignment)
    maxshift.inputMovies.setExtended(movies)
    return maxshift


def launch(project, protocol, wait=False):
    """Launch a protocol in its own process; with wait, until it ends."""
    project.launchProtocol(protocol, wait=wait)
    return refresh(project, protocol)


def refresh(project, protocol):
    """Bring a running protocol's status and outputs into the project."""
    project._updateProtocol(protocol)
    return protocol


def wait_for_output(project, protocol, name, timeout=120, poll=0.2):
    """Wait until a protocol has the named output; return the output."""
    deadline = time.time() + timeout
    while not refresh(project, protocol).hasAttribute(name):
        if not protocol.isActive():
            raise RuntimeError('%s ended (%s) without output %s: %s'
                               % (protocol.getRunName(), protocol.getStatus(),
                                  name, protocol.getErrorMessage()))
        if time.time() > deadline:
            raise TimeoutError('%s has no %s after %s s'
                               % (protocol.getRunName(), name, timeout))
        time.sleep(poll)
    return getattr(protocol, name)


def wait_until_done(project, protocol, timeout=600, poll=0.2):
    """Wait until a protocol is no longer active; fail unless it finished."""
    deadline = time.time() + timeout
    while refresh(project, protocol).isActive():
        if time.time() > deadline:
            raise TimeoutError('%s still running after %s s'
                               % (protocol.getRunName(), timeout))
        time.sleep(poll)
    if protocol.getStatus() != STATUS_FINISHED:
        # pyworkflow may read the run's status just before the process writes
        # 'finished' and exits, and then call it dead: read it once more.
        time.sleep(1.0)
        refresh(project, protocol)
    if protocol.getStatus() != STATUS_FINISHED:
        raise RuntimeError('%s %s: %s' % (protocol.getRunName(),
                                          protocol.getStatus(),
                                          protocol.getErrorMessage()))
    return protocol


def output_items(protocol, name):
    """The items of an output set (detached), in id order; [] if absent."""
    if not protocol.hasAttribute(name):
        return []
    outputSet = getattr(protocol, name)
    try:
        return [item.clone(copyEnable=True) for item in outputSet.iterItems()]
    finally:
        outputSet.close()


def output_ids(protocol, *names):
    """Ids of the items of each named output (all maxshift outputs by default)."""
    names = names or tuple(protocol._possibleOutputs)
    return {name: [item.getObjId() for item in output_items(protocol, name)]
            for name in names}
