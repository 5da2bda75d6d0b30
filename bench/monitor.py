"""What the benchmark watches from outside a running protocol: its process
tree (RSS, peak RSS, CPU time) and sqlite set files (when each id first shows
up, the stream state), read with plain sqlite3 in read-only mode.

Everything is sampled from the benchmark's own loop (Monitor.tick), so the
protocol is never touched: a read takes a shared lock for a few ms at most.
"""
import os
import re
import sqlite3
import time

import psutil

STREAM_CLOSED = '2'  # pyworkflow.object.Set.STREAM_CLOSED, as stored


def _vmhwm_bytes(pid):
    """Peak RSS the kernel recorded for a process (VmHWM), or 0."""
    try:
        with open('/proc/%d/status' % pid) as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class ProcessTree:
    """A launched protocol: the shell pyworkflow starts and its children.

    Keeps, per process, the peak RSS (max of the sampled RSS and the
    kernel's VmHWM, so a short peak between samples is not missed) and a
    timeline of CPU seconds (user + system).
    """

    def __init__(self, pid):
        self.pid = pid
        self.endedAt = None
        self.peak = {}  # pid -> bytes
        self.cpu = {}  # pid -> [(time, cpu seconds)]
        self.cmdline = {}
        try:
            self.root = psutil.Process(pid)
        except psutil.NoSuchProcess:
            self.root = None
            self.endedAt = time.time()

    @property
    def ended(self):
        return self.endedAt is not None

    def sample(self, now=None):
        if self.ended:
            return
        now = now or time.time()
        try:
            if self.root.status() == psutil.STATUS_ZOMBIE:
                self.endedAt = now
                return
            procs = [self.root] + self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            self.endedAt = now
            return
        for proc in procs:
            try:
                with proc.oneshot():
                    if proc.status() == psutil.STATUS_ZOMBIE:
                        continue
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
                    if proc.pid not in self.cmdline:
                        self.cmdline[proc.pid] = ' '.join(proc.cmdline())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            peak = max(rss, _vmhwm_bytes(proc.pid), self.peak.get(proc.pid, 0))
            self.peak[proc.pid] = peak
            self.cpu.setdefault(proc.pid, []).append(
                (now, times.user + times.system))

    def kill(self):
        """End this tree's processes (only these pids): after a failure, so
        that a leftover run does not load the next measurements."""
        if self.ended:
            return
        try:
            procs = self.root.children(recursive=True) + [self.root]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(procs, timeout=5)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        self.endedAt = time.time()

    def pythonPid(self):
        """The pid of the protocol's Python process once it is seen."""
        for pid, cmd in self.cmdline.items():
            if 'pw_protocol_run' in cmd and not cmd.startswith('/bin/sh'):
                return pid
        return None

    def protocolPid(self, logFile=None):
        """The protocol's Python process: the pid its log names, else the
        python child with the largest peak."""
        if logFile and os.path.exists(logFile):
            with open(logFile, errors='replace') as log:
                match = re.search(r'^PID: (\d+)', log.read(), re.M)
            if match and int(match.group(1)) in self.peak:
                return int(match.group(1))
        pythons = [pid for pid, cmd in self.cmdline.items()
                   if 'pw_protocol_run' in cmd and not cmd.startswith('/bin/sh')]
        candidates = pythons or list(self.peak)
        return max(candidates, key=lambda pid: self.peak[pid]) if candidates else None

    def peakMb(self, pid):
        return self.peak.get(pid, 0) / 2.0 ** 20

    def cpuAt(self, pid, when):
        """CPU seconds of a process at the last sample at or before `when`."""
        value = 0.0
        for stamp, seconds in self.cpu.get(pid, []):
            if stamp > when:
                break
            value = seconds
        return value


class SetFile:
    """A set's sqlite file: when each id first appears, and its stream state.

    Queried only when the file's size or mtime changed since the last tick.
    """
    RECHECK_SECONDS = 1.0

    def __init__(self, path):
        self.path = path
        self.firstSeen = {}  # id -> time the benchmark first saw it
        self.creation = {}  # id -> SQLite creation stamp (UTC, whole s)
        self.enabled = {}  # id -> enabled flag
        self.events = []  # (time, number of new ids) per observed commit
        self.rows = 0  # rows in the table (duplicates would show here)
        self.closed = False
        self.closedAt = None
        self._stat = None
        self._readAt = 0.0

    def tick(self, now=None):
        now = now or time.time()
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return
        key = (stat.st_mtime_ns, stat.st_size)
        if os.path.exists(self.path + '-journal'):
            return  # a write is in progress: next tick
        # A commit in the same clock tick as the previous read, not changing
        # the size, would keep (mtime, size): while the set is open, recount
        # once a second.
        recheck = (key == self._stat and not self.closed
                   and now - self._readAt > self.RECHECK_SECONDS)
        if key == self._stat and not recheck:
            return
        try:
            db = sqlite3.connect('file:%s?mode=ro' % self.path, uri=True,
                                 timeout=0.05)
            try:
                if recheck:
                    self._readAt = now
                    count, = db.execute('SELECT COUNT(*) FROM Objects').fetchone()
                    if count == self.rows and self._state(db) != STREAM_CLOSED:
                        return
                rows = db.execute('SELECT id, creation, enabled FROM Objects'
                                  ).fetchall()
                state = self._state(db)
            finally:
                db.close()
        except sqlite3.OperationalError:
            return  # locked, or the tables are not created yet
        self._stat, self._readAt = key, now
        new = 0
        for objId, creation, enabled in rows:
            if objId not in self.firstSeen:
                self.firstSeen[objId] = now
                self.creation[objId] = creation
                new += 1
            self.enabled[objId] = enabled
        self.rows = len(rows)
        if new:
            self.events.append((now, new))
        if state == STREAM_CLOSED and not self.closed:
            self.closed, self.closedAt = True, now

    @staticmethod
    def _state(db):
        row = db.execute("SELECT value FROM Properties WHERE "
                         "key='_streamState'").fetchone()
        return row[0] if row else None

    def ids(self):
        return set(self.firstSeen)


class Monitor:
    """Samples process trees and set files together, every `period` s."""

    def __init__(self, period=0.1):
        self.period = period
        self.trees = []
        self.files = {}

    def watch(self, name, path):
        self.files[name] = SetFile(path)
        return self.files[name]

    def track(self, pid):
        tree = ProcessTree(pid)
        self.trees.append(tree)
        return tree

    def tick(self):
        now = time.time()
        for tree in self.trees:
            tree.sample(now)
        for setFile in self.files.values():
            setFile.tick(now)
        return now

    def until(self, condition, timeout, what):
        """Tick until condition() is true; return the time it became so."""
        deadline = time.time() + timeout
        while True:
            now = self.tick()
            if condition():
                return now
            if now > deadline:
                raise TimeoutError('benchmark: %s not reached after %g s'
                                   % (what, timeout))
            time.sleep(max(0.0, self.period - (time.time() - now)))
