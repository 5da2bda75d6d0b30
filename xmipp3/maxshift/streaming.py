"""Streaming glue shared by the plugin's protocols: read only the rows a
producer appended since the last poll, and write output sets that survive a
stop, a full disk and "Continue"."""
import errno
import os
import signal
import sqlite3
import time
from datetime import datetime, timedelta
from urllib.request import pathname2url

from pyworkflow.mapper.sqlite import SqliteFlatMapperException
from pyworkflow.object import Set

# What SQLite and pyworkflow raise for a file that is not a readable set
UNREADABLE_SET_ERRORS = (sqlite3.DatabaseError, SqliteFlatMapperException)

# Rows are found by their SQLite 'creation' stamp (UTC, whole seconds, set by
# the producer's INSERT). Re-reading this margin behind the newest stamp seen
# covers rows committed in the same second or after a small clock step; ids
# already seen are skipped, so nothing is returned twice.
CREATION_MARGIN = timedelta(seconds=2)
CREATION_FORMAT = '%Y-%m-%d %H:%M:%S'


# Transient SQLite locks (a producer or a reader holding the file) are
# retried with a bounded exponential back-off before giving up.
LOCK_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def retryingLocks(action, what, log):
    """Run action(); retry it while SQLite says the file is locked or busy."""
    for delay in LOCK_RETRY_DELAYS + (None,):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if delay is None or not ('locked' in str(error) or 'busy' in str(error)):
                raise
            log('%s: %s; trying again in %g s' % (what, error, delay))
            time.sleep(delay)


# A write that fails for want of space: SQLite's SQLITE_FULL, ENOSPC, or a
# quota exceeded. SQLite rolls the whole transaction back on SQLITE_FULL, so
# after one of these nothing written since the last commit can be trusted.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
SQLITE_FULL_MESSAGE = 'database or disk is full'


class OutputLost(Exception):
    """Rows committed to an output are not in its file: the transaction was
    rolled back (a full disk) and a retry committed without them."""


def diskFullCause(error):
    """The disk-full error in an exception's chain (pyworkflow wraps the
    errors of its output updates in a BlockingIOError), or None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OutputLost):
            return error
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            return error
        if isinstance(error, sqlite3.OperationalError) and \
                SQLITE_FULL_MESSAGE in str(error):
            return error
        error = error.__cause__ or error.__context__
    return None


class FaultInjector:
    """Kills this process with SIGKILL at a named point, for the reliability
    tests: the environment variable holds '<point>' or '<point>:<n>' (the
    n-th time the point is reached). Unset, it does nothing.

    With diskFull, it raises OSError(ENOSPC) instead, from the n-th time on:
    '<point>:<n>:<times>' raises that many times, '<point>:<n>' every time
    (a disk that stays full)."""

    def __init__(self, variable, diskFull=False):
        point, _, rest = os.environ.get(variable, '').partition(':')
        count, _, times = rest.partition(':')
        self.point, self.remaining = point, int(count or 1)
        self.diskFull, self.times = diskFull, int(times or 0)

    def reached(self, point):
        if point != self.point:
            return
        self.remaining -= 1
        if self.remaining > 0:
            return
        if not self.diskFull:
            if self.remaining == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            return
        if self.times and self.remaining <= -self.times:
            return
        raise OSError(errno.ENOSPC, 'No space left on device (injected at %s)'
                      % point)


def _hasCommitted(setObject):
    """Whether a set's file holds a committed write (properties and rows)."""
    return setObject._getMapper().hasProperty('self')


def countRows(path):
    """Rows in a set's sqlite file (0 while it has no table)."""
    connection = sqlite3.connect('file:%s?mode=ro' % pathname2url(path), uri=True,
                                 timeout=30)
    try:
        return connection.execute('SELECT COUNT(*) FROM Objects').fetchone()[0]
    except sqlite3.OperationalError as error:
        if 'no such table' in str(error):
            return 0
        raise
    finally:
        connection.close()


def firstItem(setObject):
    """The first item of a set, or None while nothing is committed."""
    if setObject is None or not setObject.getFileName():
        return None
    probe = type(setObject)(filename=setObject.getFileName())
    try:
        return probe.getFirstItem() if _hasCommitted(probe) else None
    finally:
        probe.close()


class NewRowsReader:
    """Reads the items appended to a set's sqlite file since the last read.

    Each read opens the file, reads the stream state, then the rows stamped
    at or after the watermark, and closes the file when they are handled, so
    the producer is kept waiting only while a poll's new rows are handled.
    Work per read is proportional to the new rows.
    """

    def __init__(self, setClass, fileName, seenIds=()):
        self.setClass = setClass
        self.fileName = fileName
        self.seenIds = set(seenIds)
        self.newest = None  # creation stamp of the newest row read
        self.closed = False  # the producer had closed the set at last read
        self.info = None  # the set's properties, for copyInfo of outputs

    def iterNew(self, sweep=False):
        """Yield the new items, then update `closed`. With sweep, every row
        is looked at, not only those after the watermark (ids already seen
        are still skipped): nothing committed before the read is missed.

        The items are the set's template object refilled for each row (as
        pyworkflow iterates): use each before the next, clone one to keep it.
        """
        inputSet = self.setClass(filename=self.fileName)
        try:
            if not _hasCommitted(inputSet):  # nothing written yet
                return
            # The state is read before the rows: if it says closed, every
            # row was already committed when the rows are read.
            inputSet.loadAllProperties()
            closed = inputSet.isStreamClosed()
            self.info = inputSet
            where = None
            if self.newest is not None and not sweep:
                since = datetime.strptime(self.newest, CREATION_FORMAT)
                where = "creation >= '%s'" % (since - CREATION_MARGIN).strftime(CREATION_FORMAT)
            for item in inputSet.iterItems(where=where):
                stamp = item.getObjCreation()
                if stamp and (self.newest is None or stamp > self.newest):
                    self.newest = stamp
                if item.getObjId() not in self.seenIds:
                    self.seenIds.add(item.getObjId())
                    yield item
            self.closed = closed
        finally:
            inputSet.close()


class OutputSets:
    """A protocol's streaming output sets, one sqlite file each.

    The files are the record of what was written: on "Continue" an existing
    file is reopened for appending, never recreated. Each commit is checked
    against the file's row count, so a write that a full disk rolled back is
    never taken as done (OutputLost).
    """

    def __init__(self, protocol, fileNames, setClasses, onDefined=None):
        self.protocol = protocol
        self.onDefined = onDefined  # called with (name, set) when it first appears
        self.fileNames = fileNames  # output name -> file name
        self.setClasses = setClasses  # output name -> set class
        self._open = {}  # output name -> set with items not yet committed
        self._expected = {}  # output name -> rows its file has once committed

    def path(self, name):
        return self.protocol._getPath(self.fileNames[name])

    def exists(self, name):
        return os.path.exists(self.path(name))

    def _openForAppend(self, name, template):
        outputSet = self.setClasses[name](filename=self.path(name))
        if _hasCommitted(outputSet):
            rows = outputSet.getSize()  # counted by load()
            outputSet.loadAllProperties()
            outputSet._size.set(rows)  # the stored size may be stale
            outputSet.enableAppend()
        else:  # new, or left without a first commit by a killed run
            outputSet.close()
            os.remove(self.path(name))
            outputSet = self.setClasses[name](filename=self.path(name))
            outputSet.copyInfo(template)
            rows = 0
        self._expected[name] = rows
        return outputSet

    def hasItems(self, name):
        if not self.exists(name):
            return False
        outputSet = self.setClasses[name](filename=self.path(name))
        try:
            return _hasCommitted(outputSet)
        finally:
            outputSet.close()

    def append(self, name, item, template):
        """Queue an item in an output, creating it from template info."""
        if name not in self._open:
            self._open[name] = self._openForAppend(name, template)
        self._open[name].append(item)
        self._expected[name] += 1

    def iterWritten(self, name):
        """Items already stored in an output (for resuming)."""
        if not self.exists(name):
            return
        written = self.setClasses[name](filename=self.path(name))
        try:
            if _hasCommitted(written):
                yield from written.iterItems()
        finally:
            written.close()

    def commit(self, closeStreams=False, afterEach=None):
        """Commit queued items; with closeStreams, close every output.
        afterEach(name) is called after each output is committed."""
        state = Set.STREAM_CLOSED if closeStreams else Set.STREAM_OPEN
        for name, outputSet in self._open.items():
            self._publish(name, outputSet, state)
            if afterEach:
                afterEach(name)
        if closeStreams:
            for name in self.fileNames:
                if name not in self._open and self.hasItems(name):
                    outputSet = self._openForAppend(name, None)
                    self._publish(name, outputSet, state)
        self._open = {}

    def reopen(self):
        """Publish every output that has items as open. Run when a run
        (re)starts: outputs that a stop or a failure closed are open again
        while it adds to them, and the protocol's record matches the files
        (sizes included) after a crash or a full disk."""
        for name in self.fileNames:
            if self.hasItems(name):
                self._forgetUnstored(name)
                self._publish(name, self._openForAppend(name, None),
                              Set.STREAM_OPEN)

    def discard(self):
        """Drop what is not committed (closing a set rolls its transaction
        back); the files keep what was committed."""
        for outputSet in self._open.values():
            try:
                outputSet.close()
            except sqlite3.Error:
                pass
        self._open = {}

    def _forgetUnstored(self, name):
        """An output defined in memory whose record a full disk rolled back
        is defined again at its next publication."""
        output = getattr(self.protocol, name, None)
        mapper = getattr(self.protocol, 'mapper', None)
        if output is None or not output.hasObjId() or mapper is None:
            return
        if not mapper.exists(output.getObjId()):
            if name in self.protocol._outputs:
                self.protocol._outputs.remove(name)
            delattr(self.protocol, name)

    def _publish(self, name, outputSet, state):
        isNew = not self.protocol.hasAttribute(name)
        self.protocol._updateOutputSet(name, outputSet, state)
        if isNew and self.onDefined:
            self.onDefined(name, outputSet)
        found = countRows(self.path(name))
        if found != self._expected[name]:
            raise OutputLost('%s should hold %d items but its file has %d: a '
                             'write was rolled back' % (name, self._expected[name],
                                                        found))
