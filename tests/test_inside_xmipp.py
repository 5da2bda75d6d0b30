"""Movie maxshift inside the real Xmipp plugin: scipion-em-xmipp 29.0.1 with
maxshift merged in (./dev test-xmipp), next to the plugins that import Xmipp.

Two modules of a compiled Xmipp cannot be built on a test machine; the
environment gives stand-ins for them (tests/xmipp_standins: `xmipp_base`
re-exports pyxmipp3's `xmipp_script`, `xmippViz` is empty) and points
XMIPP_HOME at an empty folder, which Xmipp's plugin requires to exist.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pwem.objects as emobj
import pytest
import pyworkflow.object as pwobj
from pyworkflow.plugin import Domain

from maxshift_checks import MOVIE_OUTPUTS, ids
from xmipp3.maxshift.batch import launch, new_maxshift, new_simulation, output_items
from xmipp3.protocols import XmippProtMovieMaxShift
from xmipp3.maxshift.names import OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED

pytestmark = pytest.mark.xmipp

LIST_PROTOCOLS = '''
import json, pyworkflow as pw
protocols = pw.Config.getDomain().getProtocols()
print(json.dumps({name: cls.__module__ for name, cls in protocols.items()
                  if cls.__module__.startswith('xmipp3.')}))
'''


def xmipp_protocols(pythonPath=None):
    """Name -> module of the xmipp3 protocols Scipion loads, in a new process
    (with pythonPath first on the path)."""
    environ = dict(os.environ)
    if pythonPath:
        environ['PYTHONPATH'] = pythonPath + os.pathsep + environ.get('PYTHONPATH', '')
    done = subprocess.run([sys.executable, '-c', LIST_PROTOCOLS], env=environ,
                          capture_output=True, text=True, check=True, cwd='/')
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_protocol_of_xmipp_still_loads_and_maxshift_is_the_merged_one():
    import xmipp3
    upstream = xmipp_protocols(os.environ['MAXSHIFT_UPSTREAM_XMIPP'])
    merged = xmipp_protocols()
    assert len(upstream) == 116, sorted(upstream)
    assert set(merged) == set(upstream) | {'XmippProtSimulateAlignedMovies'}
    assert {name: merged[name] for name in upstream} == upstream
    assert xmipp3.__version__.startswith('29.0.1+maxshift.')
    maxshift = Domain.findClass('XmippProtMovieMaxShift')
    assert maxshift is XmippProtMovieMaxShift
    assert 'outputMicrographsDoseWeightedDiscarded' in maxshift._possibleOutputs
    assert hasattr(maxshift, 'getMotionTablePath')  # the merged protocol, not 29.0.1's


def test_scipion_shows_the_maxshift_viewer_and_keeps_xmipps_others():
    from xmipp3.viewers.viewer_movie_max_shift import XmippMovieMaxShiftViewer
    assert Domain.findViewers(XmippProtMovieMaxShift(), 'tkinter')[0] \
        is XmippMovieMaxShiftViewer
    viewers = Domain.getViewers()
    assert viewers['XmippMovieMaxShiftViewer'] is XmippMovieMaxShiftViewer
    assert 'XmippMovieAlignViewer' in viewers


@pytest.fixture(scope='module')
def flexalign_like_run(project):
    """A maxshift run whose movies carry the cumulative shifts the way Xmipp's
    FlexAlign stores them (_xmipp_ShiftX/_xmipp_ShiftY, which scipion-em-
    facilities' OSCEM export reads)."""
    sim = launch(project, new_simulation(project, source=1, numberOfMovies=40,
                                         outlierFraction=0.2, seed=8, batchSize=1000),
                 wait=True)
    assert sim.getStatus() == 'finished', sim.getErrorMessage()
    flexMovies = emobj.SetOfMovies(filename=sim._getPath('movies_flexalign_like.sqlite'))
    flexMovies.copyInfo(sim.outputMovies)
    for movie in sim.outputMovies.iterItems():
        xshifts, yshifts = movie.getAlignment().getShifts()
        movie._xmipp_ShiftX = pwobj.CsvList()
        movie._xmipp_ShiftX.set(list(xshifts))
        movie._xmipp_ShiftY = pwobj.CsvList()
        movie._xmipp_ShiftY.set(list(yshifts))
        flexMovies.append(movie)
    flexMovies.setStreamState(flexMovies.STREAM_CLOSED)
    flexMovies.write()
    sim._defineOutputs(flexalignLikeMovies=flexMovies)
    project._storeProtocol(sim)
    maxshift = launch(project, new_maxshift(project, sim, movies='flexalignLikeMovies', rejType=1,
                                            maxMovieShift=40.0, pollInterval=0.5), wait=True)
    assert maxshift.getStatus() == 'finished', maxshift.getErrorMessage()
    accepted, discarded = (set(ids(maxshift, name)) for name in MOVIE_OUTPUTS)
    assert accepted | discarded == set(range(1, 41)) and not accepted & discarded
    return sim, maxshift


def test_facilities_oscem_export_reads_the_rule_limits_and_discarded_count(
        project, flexalign_like_run):
    from emfacilities.protocols import ProtOSCEM
    _, maxshift = flexalign_like_run
    oscem = project.newProtocol(ProtOSCEM)
    oscem.maxShift.set(maxshift)
    project.saveProtocol(oscem)
    os.makedirs(oscem._getExtraPath(), exist_ok=True)
    descriptor = oscem.get_max_shift_descriptor()
    assert descriptor['descriptor_name'] == 'XmippProtMovieMaxShift'
    thing = descriptor['descriptor_thing']
    assert thing['rejection_type'] == 'by whole movie'
    assert thing['max_movie_shift'] == {'value': 40.0, 'unit': 'Å'}
    assert thing['discarded_movies'] == len(ids(maxshift, OUTPUT_MOVIES_DISCARDED))
    largest = max(np.max(np.hypot(*movie.getAlignment().getShifts()))
                  for movie in output_items(maxshift, OUTPUT_MOVIES))
    assert thing['output_max_shift']['value'] == pytest.approx(largest, abs=0.05)


def test_facilities_monitor_summary_lists_each_output_with_its_size(
        project, flexalign_like_run):
    from emfacilities.protocols import ProtMonitorSummary
    from emfacilities.protocols.summary_provider import SummaryProvider
    _, maxshift = flexalign_like_run
    monitor = project.newProtocol(ProtMonitorSummary)
    monitor.inputProtocols.append(maxshift)
    project.saveProtocol(monitor)
    sizes = {row.output: row.outSize for row in SummaryProvider(monitor).getObjects()
             if row.output}
    expected = {name: len(ids(maxshift, name)) for name in maxshift._possibleOutputs
                if maxshift.hasAttribute(name)}
    assert sizes == expected
    assert sum(sizes[name] for name in MOVIE_OUTPUTS) == 40


def test_opening_a_set_with_xmipp_goes_through_its_plugin_up_to_the_java_viewer(
        project, flexalign_like_run, monkeypatch, tmp_path):
    """Right-click -> "Xmipp" on an output: pwem's ObjectView starts Xmipp's
    Java viewer with the environment of Xmipp's plugin. A stand-in `java`
    records how it was started (Xmipp's Java classes are not built here)."""
    import time
    import pwem.viewers.showj as showj
    from pwem.viewers import ObjectView
    _, maxshift = flexalign_like_run
    record = tmp_path / 'java-started-with.txt'
    java = tmp_path / 'bin' / 'java'
    java.parent.mkdir()
    java.write_text('#!/bin/sh\n'
                    'if [ "$1" = -version ]; then\n'
                    '  echo \'openjdk version "17.0.9"\' >&2; exit 0\n'
                    'fi\n'
                    'echo "XMIPP_HOME=$XMIPP_HOME $*" > %s\n' % record)
    java.chmod(0o755)
    monkeypatch.setattr(showj.emConfig, 'JAVA_HOME', str(tmp_path))
    monkeypatch.setattr(showj, 'javaVersion', None)
    outputSet = getattr(maxshift, OUTPUT_MOVIES)
    ObjectView(project, outputSet.strId(), outputSet.getFileName()).show()
    deadline = time.time() + 60
    while not record.exists() and time.time() < deadline:
        time.sleep(0.1)
    started = record.read_text()
    assert started.startswith('XMIPP_HOME=%s ' % os.environ['XMIPP_HOME'])
    assert 'xmipp.viewer.scipion.ScipionViewer' in started
    assert outputSet.getFileName() in started
