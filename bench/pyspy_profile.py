"""Optional py-spy profile of a protocol process (run_bench.py --py-spy).

py-spy (pip install py-spy) attaches to the running protocol process and
samples its Python stacks; the raw (collapsed) stacks are kept next to the
JSON and summarised here: the functions holding the most time, inclusive
(anywhere on the stack) and self (innermost frame).
"""
import collections
import os
import re
import shutil
import subprocess
import sys

RATE = 100  # samples per second
FRAME = re.compile(r'^(?P<func>.*) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$')


def pyspy_executable():
    found = os.path.join(os.path.dirname(sys.executable), 'py-spy')
    return found if os.path.exists(found) else shutil.which('py-spy')


def start(pid, rawFile):
    """Start sampling a process until it exits; returns the py-spy Popen."""
    executable = pyspy_executable()
    if executable is None:
        raise RuntimeError('py-spy not found: pip install py-spy into the '
                           'environment that runs the benchmark')
    return subprocess.Popen(
        [executable, 'record', '--pid', str(pid), '--rate', str(RATE),
         '--idle', '--format', 'raw', '--output', rawFile],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _short(frame):
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group('file')
    for marker in ('site-packages/', '/work/main/', 'lib/python3'):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return '%s (%s)' % (match.group('func'), path)


def summarize(rawFile, top=15):
    """Seconds per function, inclusive and self, from collapsed stacks."""
    inclusive, own = collections.Counter(), collections.Counter()
    samples = 0
    with open(rawFile) as raw:
        for line in raw:
            stack, _, count = line.rstrip('\n').rpartition(' ')
            if not stack or not count.isdigit():
                continue
            count = int(count)
            samples += count
            frames = [_short(f) for f in stack.split(';')]
            for frame in set(frames):
                inclusive[frame] += count
            own[frames[-1]] += count
    return {'seconds_sampled': samples / RATE,
            'inclusive': [(f, n / RATE) for f, n in inclusive.most_common(top * 3)
                          if not f.startswith(('<module>', '_bootstrap'))][:top],
            'self': [(f, n / RATE) for f, n in own.most_common(top)],
            'raw': rawFile}


def print_summary(summary, title):
    print('\n%s: %.2f s sampled (py-spy, %d Hz, idle included)'
          % (title, summary['seconds_sampled'], RATE))
    for kind in ('inclusive', 'self'):
        print('  %s time:' % kind)
        for frame, seconds in summary[kind]:
            print('    %6.2f s  %s' % (seconds, frame))
