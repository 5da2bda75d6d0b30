"""Streaming glue shared by the plugin's protocols: read only the rows a
producer appended since the last poll, and write output sets that survive a
stop, a full disk and "Continue"."""
import bisect
import errno
import logging
import os
import signal
import sqlite3
import time
from datetime import datetime, timedelta
from urllib.request import pathname2url

from pyworkflow.mapper.sqlite import SqliteFlatMapperException
from pyworkflow.object import Set

logger = logging.getLogger(__name__)

# What SQLite and pyworkflow raise for a file that is not a readable set
UNREADABLE_SET_ERRORS = (sqlite3.DatabaseError, SqliteFlatMapperException)

# New rows are found by id, never by time: each poll lists the ids of the
# rows that are not seen yet (on the primary key, ids only) and reads only
# those rows in full, whatever their 'creation' stamps say. The stamps (UTC,
# whole seconds, from the producer's clock) only feed a log line: new rows
# stamped this much older than the previous poll's newest row mean the
# producer's clock went back.
CLOCK_BACK_NOTICE = timedelta(seconds=2)
CREATION_FORMAT = '%Y-%m-%d %H:%M:%S'
# An unseen id can only lie outside the runs of consecutive seen ids. Up to
# this many gaps between runs are listed one range query each (a few
# microseconds); with more, every id is listed and compared in Python.
MAX_GAP_QUERIES = 200
# Ids per "id IN (...)" query when only some of the rows are new
IDS_PER_QUERY = 500


# Transient SQLite locks (a producer or a reader holding the file) are
# retried with a bounded exponential back-off before giving up.
#
# Our own loop rather than pyworkflow's retry_on_sqlite_lock
# (pyworkflow.utils.retry_streaming), which retries on the same errors:
# that helper logs each retry at ERROR level, in terminal colours, naming
# the wrapped function, to a logging.Logger; here each retry is a warning
# in the protocol's own log saying which input was being read, the error
# and the wait, which is what the operator reads. It also appeared only in
# pyworkflow 3.11.6, above the floor this plugin otherwise needs (3.9; 3.11.2
# with scipion-em 3.11). Note that pyworkflow's mappers already wait up to
# 1000 s for a lock (their sqlite timeout): either loop only sees the lock
# errors SQLite raises without waiting.
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


# Logged just before an injected kill, so that a test counts the kills that
# really happened (% (variable, its value))
KILLED_LINE = 'Fault injected (%s=%s): SIGKILL'


class FaultInjector:
    """Kills this process with SIGKILL at a named point, for the reliability
    tests: the environment variable holds '<point>' or '<point>:<n>' (the
    n-th time the point is reached), and KILLED_LINE is logged first. Unset,
    it does nothing.

    With diskFull, it raises OSError(ENOSPC) instead, from the n-th time on:
    '<point>:<n>:<times>' raises that many times, '<point>:<n>' every time
    (a disk that stays full)."""

    def __init__(self, variable, diskFull=False):
        self.variable, self.value = variable, os.environ.get(variable, '')
        point, _, rest = self.value.partition(':')
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
                logger.warning(KILLED_LINE % (self.variable, self.value))
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

    Each read opens the file, reads the stream state, lists the ids not
    seen before (ids only), reads those rows in full, and closes the file
    when they are handled, so the producer is kept waiting only while a
    poll's new rows are handled. A row is found whatever its id or creation
    stamp: lower, older, equal or newer than the rows before it. Work per
    read is proportional to the new rows (plus one id per row when the seen
    ids leave more than MAX_GAP_QUERIES gaps).
    """

    def __init__(self, setClass, fileName, seenIds=(), log=None):
        self.setClass = setClass
        self.fileName = fileName
        self.seenIds = SeenIds(seenIds)
        self.closed = False  # the producer had closed the set at last read
        self.info = None  # the set's properties, for copyInfo of outputs
        self.log = log  # called with a line when the producer's clock went back
        self._lastNewest = None  # newest creation stamp of the last rows read

    def iterNew(self):
        """Yield the new items, then update `closed`.

        The items are the set's template object refilled for each row (as
        pyworkflow iterates): use each before the next, clone one to keep it.
        """
        inputSet = self.setClass(filename=self.fileName)
        try:
            if not _hasCommitted(inputSet):  # nothing written yet
                return
            # The state is read before the ids and rows: if it says closed,
            # every row was already committed when they are read.
            inputSet.loadAllProperties()
            closed = inputSet.isStreamClosed()
            self.info = inputSet
            if self.seenIds:
                wheres = _whereClauses(_unseenIds(inputSet, self.seenIds))
            else:  # every row is new
                wheres = [None]
            stamps = _Stamps(self._lastNewest)
            for where in wheres:
                for item in inputSet.iterItems(where=where):
                    if item.getObjId() in self.seenIds:  # never twice
                        continue
                    self.seenIds.add(item.getObjId())
                    stamps.add(item.getObjCreation())
                    yield item
            if stamps.newest is not None:
                self._lastNewest = stamps.newest
            if stamps.back and self.log:
                self.log('New rows of %s are stamped up to %d s before the '
                         'newest row of the previous read: the producer\'s '
                         'clock went back ~%d s. Rows are found by their ids, '
                         'so none is missed.'
                         % (self.fileName, stamps.back, stamps.back))
            self.closed = closed
        finally:
            inputSet.close()


class SeenIds:
    """A set of ids that also keeps them as sorted runs of consecutive ids,
    so that the ids outside it are a few ranges."""

    def __init__(self, ids=()):
        self._ids = set()
        self._firsts, self._lasts = [], []  # run k: firsts[k] .. lasts[k]
        for rowId in sorted(set(ids)):
            self.add(rowId)

    def __contains__(self, rowId):
        return rowId in self._ids

    def __len__(self):
        return len(self._ids)

    def add(self, rowId):
        if rowId in self._ids:
            return
        self._ids.add(rowId)
        k = bisect.bisect(self._firsts, rowId)  # runs before k start below
        joinsLeft = k > 0 and self._lasts[k - 1] == rowId - 1
        joinsRight = k < len(self._firsts) and self._firsts[k] == rowId + 1
        if joinsLeft and joinsRight:
            self._lasts[k - 1] = self._lasts.pop(k)
            self._firsts.pop(k)
        elif joinsLeft:
            self._lasts[k - 1] = rowId
        elif joinsRight:
            self._firsts[k] = rowId
        else:
            self._firsts.insert(k, rowId)
            self._lasts.insert(k, rowId)

    def gaps(self):
        """The open id ranges (after, before) that hold every id not in the
        set; None is unbounded."""
        return list(zip([None] + self._lasts, self._firsts + [None]))


def _unseenIds(setObject, seen):
    """Ids of a set file's rows that are not in seen, in id order."""
    db = setObject._getMapper().db
    table = '%sObjects' % db.tablePrefix
    cursor = db.connection.cursor()
    cursor.row_factory = None  # plain tuples: cheaper than sqlite3.Row
    try:
        gaps = seen.gaps()
        if len(gaps) > MAX_GAP_QUERIES:
            cursor.execute('SELECT id FROM %s ORDER BY id' % table)
            return [row[0] for row in cursor if row[0] not in seen]
        unseen = []
        for after, before in gaps:  # each a range on the primary key
            bounds = ['id > %d' % after] if after is not None else []
            bounds += ['id < %d' % before] if before is not None else []
            cursor.execute('SELECT id FROM %s%s ORDER BY id' % (
                table, ' WHERE ' + ' AND '.join(bounds) if bounds else ''))
            unseen.extend(row[0] for row in cursor if row[0] not in seen)
        return unseen
    finally:
        cursor.close()


def _whereClauses(newIds):
    """Where clauses that select the rows with these ids, a bounded number
    of ids per query."""
    return ['id IN (%s)' % ','.join(map(str, newIds[i:i + IDS_PER_QUERY]))
            for i in range(0, len(newIds), IDS_PER_QUERY)]


class _Stamps:
    """The creation stamps of one read's rows: the newest, and how far the
    oldest fell behind the previous read's newest (the clock going back)."""

    def __init__(self, previousNewest):
        self.previous = previousNewest
        self.newest = None
        self.back = 0  # seconds

    def add(self, stamp):
        if not stamp:
            return
        if self.newest is None or stamp > self.newest:
            self.newest = stamp
        if self.previous is not None and stamp < self.previous:
            behind = (datetime.strptime(self.previous, CREATION_FORMAT)
                      - datetime.strptime(stamp, CREATION_FORMAT))
            if behind > CLOCK_BACK_NOTICE:
                self.back = max(self.back, int(behind.total_seconds()))


class OutputSets:
    """A protocol's streaming output sets, one sqlite file each.

    The files are the record of what was written: on "Continue" an existing
    file is reopened for appending, never recreated. Each commit is checked
    against the file's row count, so a write that a full disk rolled back is
    never taken as done (OutputLost); pyworkflow's _updateOutputSet, which
    each commit calls, does not check this.

    At the end, commit() then the protocol's own _closeOutputSet() (what
    pyworkflow also runs on a stop or a failure) closes every output.
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
        # Opening a set creates its file: a new output is not opened to be
        # checked first, or readers would see a file appear and vanish.
        outputSet = (self.setClasses[name](filename=self.path(name))
                     if self.exists(name) else None)
        if outputSet is not None and _hasCommitted(outputSet):
            rows = outputSet.getSize()  # counted by load()
            outputSet.loadAllProperties()
            outputSet._size.set(rows)  # the stored size may be stale
            outputSet.enableAppend()
        else:  # new, or left without a first commit by a killed run
            if outputSet is not None:
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

    def commit(self, afterEach=None):
        """Commit queued items; afterEach(name) is called after each output
        is committed."""
        for name, outputSet in self._open.items():
            self._publish(name, outputSet, Set.STREAM_OPEN)
            if afterEach:
                afterEach(name)
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
