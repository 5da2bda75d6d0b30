"""The protocol that makes movie maxshift's input, seen from the maxshift
run: whether it is still running (for upstream.UpstreamWatch), and which
micrograph outputs it has. Scipion glue: re-reads the producer from its own
run.db."""
import os
from datetime import datetime

import psutil

from pyworkflow.protocol import Protocol, getProtocolFromDb

from xmipp3.maxshift import names, upstream


class ProducerWatch:
    """The producer of a protocol's inputMovies, re-read from its run.db
    whenever that file changes."""

    def __init__(self, protocol):
        self.project = protocol.getProject()
        parent = protocol.inputMovies.getObjValue()
        self.producer = parent if isinstance(parent, Protocol) else None
        self.dbStamp = None  # (mtime, size) of its run.db when last read
        self.goneSince = None  # when its process was first seen gone

    def name(self):
        return self.producer.getRunName() if self.producer else ''

    def observe(self):
        """(state, description): upstream.RUNNING, FINISHED or DOWN, and
        e.g. 'failed at 14:03'; (None, '') without a producer protocol."""
        if self.producer is None:
            return None, ''
        self._reload()
        if self.goneSince is None and self.producer.isActive() \
                and not self._processAlive():
            # Read once more when its process is first seen gone: a last
            # status written in the same mtime tick would be missed.
            self._reload(force=True)
        producer = self.producer
        if producer.isFinished():
            return upstream.FINISHED, 'finished'
        if producer.isActive():
            if self._processAlive():
                self.goneSince = None
                return upstream.RUNNING, producer.getStatus()
            self.goneSince = self.goneSince or datetime.now()
            return upstream.DOWN, 'its process %s is gone, seen at %s' % (
                producer.getPid(), _clock(self.goneSince))
        self.goneSince = None
        if producer.endTime.hasValue():
            return upstream.DOWN, '%s at %s' % (producer.getStatus(),
                                                _clock(producer.endTime.datetime()))
        return upstream.DOWN, producer.getStatus()

    def changed(self):
        """Whether its run.db changed since it was last read."""
        return self.producer is not None and self._stamp() != self.dbStamp

    def _stamp(self):
        try:
            stat = os.stat(os.path.join(self.project.path, self.producer.getDbPath()))
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _reload(self, force=False):
        """Re-read the producer if its run.db changed."""
        stamp = self._stamp()
        if stamp is not None and (force or stamp != self.dbStamp):
            updated = getProtocolFromDb(self.project.path, self.producer.getDbPath(),
                                        self.producer.getObjId())
            updated.getProject().closeMapper()
            updated.closeMappers()
            self.producer, self.dbStamp = updated, stamp

    def _processAlive(self):
        """False only when a local producer that says it is running has no
        process (launched or scheduled ones are about to get one)."""
        pid = self.producer.getPid()
        if not self.producer.isRunning() or not pid or self.producer.useQueue() \
                or self.producer.getHostName() != 'localhost':
            return True
        return psutil.pid_exists(pid)


def micrographFiles(producer):
    """The micrograph outputs an alignment protocol has now (None: no
    producer protocol): output name -> sqlite file."""
    files = {}
    for name in names.MIC_SPLITS:
        output = getattr(producer, name, None) if producer else None
        if output is not None and output.getFileName():
            files[name] = output.getFileName()
    return files


def _clock(moment):
    """14:03 today, else 2026-12-05 14:03."""
    if moment.date() == datetime.now().date():
        return moment.strftime('%H:%M')
    return moment.strftime('%Y-%m-%d %H:%M')
