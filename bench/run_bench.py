"""Benchmark of movie maxshift against its floors (issue 4).

    ./dev bench             full run (about 4 minutes on 2 cores)
    ./dev bench --quick     smoke run: N = 200, 1,000, streaming 3 x 100 / 2 s
    ./dev bench --py-spy    also profile one extra run on the largest N
    ./dev bench --compare A.json B.json   earlier tables side by side
    ./dev bench --help      every option

In one headless project (under bench/results/work-<stamp>/, removed at the end
unless --keep) it measures:

- the launch floor: launch and finish of pwem's ProtWait (seconds=0), a
  protocol with one step that does nothing, several times, median;
- per closed N: the simulator emits N aligned random-walk movies (40 frames,
  10 % outliers, plain and dose-weighted micrographs sharing ids) and ends;
  the I/O floor (bench/io_floor.py, one plain process: read the three sets
  once, decide, write the six sets) and movie maxshift on that input, each
  repeated, median;
- streaming: the simulator emits batches (200 every 5 s until 5,000) and
  maxshift is launched as soon as the first batch is in the input file; the
  benchmark watches the input and output sqlite files every 0.1 s, and
  reports each batch's delay from landing in the input to its movies being in
  the outputs, the time per poll (from the protocol's log) and CPU per
  committed poll (from outside) against the movies already processed;
- the summary plot: reading a 20,000-row motion table and drawing and
  saving the dashboard PNG, in this process (the protocol's own timing of
  its last plot is read from each closed run's log too);
- the peak RSS of every protocol process, and whether each run's decisions
  equal the decisions computed directly with xmipp3.maxshift.motion (default rule).

It prints one table, with each figure's ratio to the floors and the issue's
targets, and writes everything to bench/results/<stamp>.json.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)  # scipion_headless, xmipp3 (also when not installed)

import scipion_headless  # noqa: E402

import pyspy_profile  # noqa: E402
from monitor import Monitor  # noqa: E402

# Output and file names come from xmipp3.maxshift.names, imported in the
# functions that use them: pyworkflow may only be imported after
# scipion_headless.configure().
DEFAULT_POLL_INTERVAL = 5.0  # the protocol's default, when not overridden
# The summary plot of 20,000 movies (once a unit test's limit): it is redrawn
# at most every 30 s while streaming, so a few seconds would still be fine
PLOT_TARGET_SECONDS = 2.5

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Benchmark movie maxshift against its I/O and launch floors.')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: closed N = 200 and 1000, streaming 3 '
                             'batches of 100 every 2 s, fewer repeats')
    parser.add_argument('--closed', type=int, nargs='*', default=None,
                        help='closed-input sizes (default 200 5000 20000); '
                             'give none to skip closed input')
    parser.add_argument('--stream-batch', type=int, default=None,
                        help='movies per streamed batch (default 200)')
    parser.add_argument('--stream-interval', type=float, default=None,
                        help='seconds between streamed batches (default 5)')
    parser.add_argument('--stream-total', type=int, default=None,
                        help='movies streamed in all (default 5000; 0 skips '
                             'streaming)')
    parser.add_argument('--poll-interval', type=float, default=None,
                        help='maxshift pollInterval (default: the '
                             'protocol default, 5 s)')
    parser.add_argument('--repeats', type=int, default=None,
                        help='maxshift runs and I/O floor runs per closed N '
                             '(default 3; quick 2)')
    parser.add_argument('--launch-repeats', type=int, default=None,
                        help='launches of the empty protocol (default 5; '
                             'quick 3)')
    parser.add_argument('--plot-movies', type=int, default=20000,
                        help='movies in the table of the summary-plot figure '
                             '(default 20000; 0 skips it)')
    parser.add_argument('--py-spy', action='store_true',
                        help='profile one extra maxshift run on the largest '
                             'closed N with py-spy (pip install py-spy): '
                             'stacks to bench/results/<stamp>-N<n>.pyspy.txt, '
                             'top functions printed and in the JSON')
    parser.add_argument('--compare', nargs='+', metavar='JSON',
                        help='print the tables of earlier runs side by side '
                             'and exit (no benchmark)')
    parser.add_argument('--seed', type=int, default=1,
                        help='random seed of the simulated movies')
    parser.add_argument('--workdir', default=None,
                        help='folder for the Scipion home and project '
                             '(default bench/results/work-<stamp>)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the project folder at the end')
    parser.add_argument('--out', default=None,
                        help='JSON file (default bench/results/<stamp>.json)')
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {'closed': [200, 1000] if quick else [200, 5000, 20000],
                'stream_batch': 100 if quick else 200,
                'stream_interval': 2.0 if quick else 5.0,
                'stream_total': 300 if quick else 5000,
                'repeats': 2 if quick else 3,
                'launch_repeats': 3 if quick else 5}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


# ----------------------------------------------------------------- helpers --
def median(values):
    return statistics.median(values) if values else None


def source_hash():
    """Hash of the plugin's non-test sources: the code a launch runs (others
    may be editing the working tree while the benchmark runs)."""
    digest = hashlib.sha1()
    root = os.path.join(REPO, 'xmipp3')
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ('tests', '__pycache__'))
        for name in sorted(files):
            if name.endswith(('.py', '.conf')):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, 'rb') as source:
                    digest.update(source.read())
    return digest.hexdigest()


class OtherLoad:
    """CPU time the machine spent outside the benchmark and its protocol
    processes during a run, in cores: other users make the figures noisy."""

    def __init__(self):
        import psutil
        self.psutil = psutil
        self.me = psutil.Process()
        self.started = time.time()
        self.busy = self._busy()
        self.mine = self._mine()

    def _busy(self):
        times = self.psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, 'iowait', 0.0)

    def _mine(self):
        times = self.me.cpu_times()
        return times.user + times.system

    def cores(self, trees):
        wall = time.time() - self.started
        tracked = sum(cpu[-1][1] for tree in trees for cpu in tree.cpu.values())
        other = (self._busy() - self.busy) - (self._mine() - self.mine) - tracked
        return max(0.0, other / wall) if wall > 0 else None


def git_state():
    def git(*command):
        try:
            return subprocess.run(('git',) + command, cwd=REPO, check=True,
                                  capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    protocol = os.path.join(REPO, 'xmipp3', 'protocols',
                            'protocol_movie_max_shift.py')
    with open(protocol, 'rb') as source:
        digest = hashlib.sha1(source.read()).hexdigest()
    return {'commit': git('rev-parse', 'HEAD'),
            'subject': git('log', '-1', '--format=%s'),
            'dirty': [line for line in (git('status', '--porcelain',
                                            '--untracked-files=no') or '').splitlines()],
            'protocol_sha1': digest}


def read_run_record(path):
    """Polls, step start/end times and summary plots ((movies, seconds))
    from a maxshift run's record (extra/run_record.jsonl)."""
    polls, steps, plotted = [], {}, []
    if not os.path.exists(path):
        return polls, steps, plotted
    with open(path, encoding='utf-8') as record:
        for line in record:
            entry = json.loads(line)
            if entry['event'] == 'poll':
                polls.append({'poll': entry['poll'], 'final': entry['final'],
                              'new_movies': entry['newMovies'],
                              'new_micrographs': entry['newMicrographs'],
                              'classified': entry['classified'],
                              'seconds': entry['seconds']})
            elif entry['event'] == 'summary plot':
                plotted.append((entry['movies'], entry['seconds']))
            elif entry['event'] in ('step started', 'step finished'):
                steps[entry['event'].split()[1]] = entry['time']
    return polls, steps, plotted


class Bench:
    def __init__(self, project, args, workDir):
        from pyworkflow.plugin import Domain
        from xmipp3.maxshift import batch
        self.batch = batch
        self.Domain = Domain
        self.project = project
        self.args = args
        self.workDir = workDir
        self.sources = set()  # source hashes seen at launches
        self.trees = []  # every launched process tree
        self.maxshiftParams = ({} if args.poll_interval is None
                               else {'pollInterval': args.poll_interval})

    # --------------------------------------------------- launching, waiting --
    def launch(self, protocol, monitor, label):
        """Launch in its own process; return (launch time, process tree).

        The protocol is refreshed from its run.db only after its process
        has ended: refreshing a running protocol often can miss its last
        update (see the README) and mark it failed."""
        protocol.setObjLabel(label)
        self.lastSource = source_hash()
        self.sources.add(self.lastSource)
        started = time.time()
        self.batch.launch(self.project, protocol)
        tree = monitor.track(protocol.getPid())
        self.trees.append(tree)
        return started, tree

    def stop_leftovers(self):
        """After a failed phase: end the protocols it left running."""
        for tree in self.trees:
            if not tree.ended:
                tree.kill()

    def finished(self, protocol, tree, monitor, timeout):
        ended = monitor.until(lambda: tree.ended, timeout,
                              '%s process end' % protocol.getObjLabel())
        self.batch.refresh(self.project, protocol)
        if not protocol.isFinished():
            raise RuntimeError('%s ended %s: %s' % (
                protocol.getObjLabel(), protocol.getStatus(),
                protocol.getErrorMessage()))
        return ended

    # ------------------------------------------------------------- floors --
    def launch_floor(self):
        ProtWait = self.Domain.findClass('ProtWait')
        runs = []
        for index in range(self.args.launch_repeats):
            monitor = Monitor(period=0.02)
            protocol = self.project.newProtocol(ProtWait, seconds=0)
            started, tree = self.launch(protocol, monitor,
                                        'bench launch floor %d' % (index + 1))
            ended = self.finished(protocol, tree, monitor, 120)
            pid = tree.protocolPid(protocol.getStdoutLog())
            runs.append({'seconds': ended - started,
                         'peak_rss_mb': tree.peakMb(pid)})
        return {'protocol': 'pwem.protocols.ProtWait(seconds=0): one step '
                            'that sleeps 0 s',
                'runs': runs,
                'seconds': median([run['seconds'] for run in runs]),
                'peak_rss_mb': median([run['peak_rss_mb'] for run in runs])}

    def io_floor(self, simulation, tag):
        """Run bench/io_floor.py on a simulator's sets in a fresh process."""
        from xmipp3.maxshift.names import SIMULATION_FILES
        outDir = os.path.join(self.workDir, 'io-floor', tag)
        resultFile = outDir + '.json'
        files = [os.path.join(self.project.path, simulation._getPath(name))
                 for name in SIMULATION_FILES.values()]
        started = time.time()
        subprocess.run([sys.executable, os.path.join(HERE, 'io_floor.py')]
                       + files + [outDir, resultFile], check=True,
                       cwd=self.project.path)
        wall = time.time() - started
        with open(resultFile) as result:
            floor = json.load(result)
        shutil.rmtree(outDir, ignore_errors=True)
        os.remove(resultFile)
        floor['process_wall_seconds'] = wall
        return floor

    # -------------------------------------------------------- summary plot --
    def summary_plot(self, movies, repeats):
        """The work of the protocol's summary plot (_plotSummary) on a table
        of `movies` rows, in this process: read movie_motion.csv, draw the
        dashboard with its dose row and save the PNG. The table is
        synthetic (gamma-distributed metrics, default rule and limits);
        the first repeat also loads matplotlib's fonts, as a protocol's
        first plot does."""
        import numpy as np
        from xmipp3.maxshift import motion, names, plots, table
        rng = np.random.default_rng(self.args.seed)
        frame = rng.gamma(2.0, 1.5, movies)
        travel = frame + rng.gamma(5.0, 5.0, movies)
        early = rng.gamma(2.0, 1.0, movies)
        late = rng.gamma(2.0, 2.0, movies)
        accepted = ~motion.rejected_by_rule(frame, travel, motion.REJ_OR, 10.0, 45.0)
        rows = [table.row(i + 1, 'movie_%06d.mrc' % (i + 1), frame[i], travel[i],
                          bool(accepted[i]), '' if accepted[i] else 'over a limit',
                          earlyMotion_A=early[i], lateMotion_A=late[i],
                          firstThirdMeanStep_A=early[i] / 4)
                for i in range(movies)]
        folder = os.path.join(self.workDir, 'summary-plot')
        os.makedirs(folder, exist_ok=True)
        csvPath = os.path.join(folder, names.MOTION_TABLE_FILE)
        pngPath = os.path.join(folder, names.SUMMARY_PLOT_FILE)
        table.write_table(csvPath, rows)
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            arrays = table.as_arrays(table.read_table(csvPath))
            plots.save_summary_png(pngPath, arrays, motion.REJ_OR, 10.0, 45.0,
                                   withDose=True)
            runs.append(time.perf_counter() - started)
        return {'movies': movies, 'runs': runs, 'first_seconds': runs[0],
                'seconds': median(runs[1:] or runs),
                'png_bytes': os.path.getsize(pngPath)}

    # ------------------------------------------------------------ simulate --
    def simulate(self, movies, batchSize, interval, monitor, label):
        simulation = self.batch.new_simulation(
            self.project, source=1, numberOfMovies=movies, numberOfFrames=40,
            outlierFraction=0.1, seed=self.args.seed, batchSize=batchSize,
            batchInterval=interval)
        started, tree = self.launch(simulation, monitor, label)
        return simulation, started, tree

    def simulate_closed(self, movies):
        monitor = Monitor(period=0.1)
        simulation, started, tree = self.simulate(
            movies, min(movies, 5000), 0.0, monitor,
            'bench input N=%d (closed)' % movies)
        ended = self.finished(simulation, tree, monitor, 600 + movies * 0.05)
        return simulation, ended - started

    # ------------------------------------------------------------ maxshift --
    def watch_outputs(self, protocol, monitor):
        from xmipp3.maxshift.names import OUTPUT_FILES
        return {name: monitor.watch(name, os.path.join(
            self.project.path, protocol._getPath(fileName)))
            for name, fileName in OUTPUT_FILES.items()}

    def run_closed(self, simulation, movies, reference, index, rawProfile=None):
        """One maxshift run on a closed input; with rawProfile, sampled by
        py-spy from the moment its Python process appears."""
        monitor = Monitor(period=0.05)
        load = OtherLoad()
        protocol = self.batch.new_maxshift(self.project, simulation,
                                           **self.maxshiftParams)
        started, tree = self.launch(protocol, monitor, 'bench maxshift N=%d '
                                    'closed %s' % (movies, index))
        outputs = self.watch_outputs(protocol, monitor)
        expected = [name for name, ids in reference.items() if ids]
        timeout = 120 + movies * 0.02
        spy = None
        if rawProfile:
            monitor.until(lambda: tree.ended or tree.pythonPid(), 30,
                          'protocol process')
            spy = pyspy_profile.start(tree.pythonPid(), rawProfile)
        monitor.until(
            lambda: tree.ended or all(outputs[n].closed for n in expected),
            timeout, 'outputs closed')
        ended = self.finished(protocol, tree, monitor, timeout)
        monitor.tick()
        run = self.describe_run(protocol, tree, outputs, reference, started,
                                ended)
        run['other_load_cores'] = load.cores(monitor.trees)
        if spy is not None:
            spy.wait(60)
            run['profile'] = pyspy_profile.summarize(rawProfile)
        return run

    def describe_run(self, protocol, tree, outputs, reference, started,
                     ended):
        # Outputs closed: when the last output with items was seen closed.
        expected = [name for name, ids in reference.items() if ids]
        closed = (max(outputs[name].closedAt for name in expected)
                  if all(outputs[name].closed for name in expected) else None)
        pid = tree.protocolPid(protocol.getStdoutLog())
        from xmipp3.maxshift.names import RUN_RECORD_FILE
        polls, steps, plotted = read_run_record(os.path.join(
            self.project.path, protocol._getExtraPath(RUN_RECORD_FILE)))
        run = {'run': protocol.getRunName(), 'path': protocol.getWorkingDir(),
               'source_sha1': self.lastSource,
               'pid': pid,
               'wall_to_outputs_closed': None if closed is None else closed - started,
               'wall_to_process_end': ended - started,
               'peak_rss_mb': tree.peakMb(pid),
               'cpu_seconds': (tree.cpu[pid][-1][1] if tree.cpu.get(pid)
                               else None),
               'polls': polls,
               'summary_plots': plotted,
               'step_started': steps.get('started'),
               'decisions': compare_decisions(outputs, reference)}
        if 'started' in steps and 'finished' in steps:
            pollSeconds = sum(poll['seconds'] for poll in polls)
            run['breakdown'] = {
                'launch_to_step_start': steps['started'] - started,
                'polls_logged': pollSeconds,
                'step_rest (resume, finish, close)':
                    steps['finished'] - steps['started'] - pollSeconds,
                'step_end_to_process_end': ended - steps['finished']}
        return run

    # ----------------------------------------------------------- streaming --
    def run_streaming(self):
        from xmipp3.maxshift.names import OUTPUT_MOVIES, SIMULATION_FILES
        args = self.args
        monitor = Monitor(period=0.1)
        load = OtherLoad()
        simulation, simStarted, simTree = self.simulate(
            args.stream_total, args.stream_batch, args.stream_interval,
            monitor, 'bench input streaming %d x %d / %g s' % (
                args.stream_total // args.stream_batch, args.stream_batch,
                args.stream_interval))
        inputFile = monitor.watch('input', os.path.join(
            self.project.path, simulation._getPath(SIMULATION_FILES[OUTPUT_MOVIES])))
        monitor.until(lambda: inputFile.firstSeen, 300, 'first batch')
        # The project's copy of the simulator must show outputMovies for the
        # pointer; refreshed only now, never near its end (see launch()).
        deadline = time.time() + 60
        while not self.batch.refresh(self.project, simulation).hasAttribute(
                OUTPUT_MOVIES):
            if time.time() > deadline:
                raise TimeoutError('the simulator has no outputMovies')
            monitor.tick()
            time.sleep(0.05)
        protocol = self.batch.new_maxshift(self.project, simulation,
                                           **self.maxshiftParams)
        started, tree = self.launch(protocol, monitor, 'bench maxshift '
                                    'streaming')
        outputs = self.watch_outputs(protocol, monitor)
        batches = -(-args.stream_total // args.stream_batch)
        timeout = batches * args.stream_interval + 300
        monitor.until(
            lambda: tree.ended or all(f.closed for f in outputs.values()),
            timeout, 'streaming outputs closed')
        ended = self.finished(protocol, tree, monitor, timeout)
        monitor.until(lambda: simTree.ended, 60, 'simulator end')
        otherLoad = load.cores(monitor.trees)
        self.batch.refresh(self.project, simulation)
        monitor.tick()
        reference = self.io_floor(simulation, 'streaming')
        run = self.describe_run(protocol, tree, outputs, reference['ids'],
                                started, ended)
        pollInterval = protocol.pollInterval.get()
        run.update({
            'poll_interval': pollInterval,
            'input_first_batch_seen': inputFile.events[0][0] - started,
            'input_closed_at': (None if inputFile.closedAt is None
                                else inputFile.closedAt - started),
            'io_floor_seconds': reference['seconds'],
            'other_load_cores': otherLoad,
            'batches': batch_delays(inputFile, outputs, args.stream_batch,
                                    args.stream_total, started),
            'commits_cpu': commits_cpu(outputs, tree, run['pid'], started,
                                       run['step_started'] or started),
        })
        run['poll_growth'] = poll_growth(run['polls'])
        run['cpu_growth'] = growth([(c['new_movies'], c['cpu_seconds'])
                                    for c in run['commits_cpu']])
        return run


# ------------------------------------------------------------ analysis --
def compare_decisions(outputs, reference):
    """Ids per output against the reference decisions; enabled flags."""
    from xmipp3.maxshift.names import DISCARDED_OUTPUTS
    problems = {}
    for name, setFile in outputs.items():
        got, want = setFile.ids(), set(reference.get(name, ()))
        issue = {}
        if got != want:
            issue['missing'] = len(want - got)
            issue['unexpected'] = len(got - want)
        if setFile.rows != len(got):
            issue['duplicate_rows'] = setFile.rows - len(got)
        wrongFlag = sum(1 for enabled in setFile.enabled.values()
                        if bool(enabled) == (name in DISCARDED_OUTPUTS))
        if wrongFlag:
            issue['wrong_enabled_flag'] = wrongFlag
        if issue:
            problems[name] = issue
    return {'identical': not problems, 'problems': problems}


def batch_delays(inputFile, outputs, batchSize, total, launched):
    """Per batch: landing in the input, appearance in the outputs."""
    from xmipp3.maxshift.names import MOVIE_SPLIT
    movieSeen = {}
    for name in MOVIE_SPLIT:
        movieSeen.update(outputs[name].firstSeen)
    allSeen = {}
    for setFile in outputs.values():
        for objId, seen in setFile.firstSeen.items():
            allSeen[objId] = max(seen, allSeen.get(objId, 0))
    creation = {}
    for name in MOVIE_SPLIT:
        creation.update(outputs[name].creation)
    stampFormat = '%Y-%m-%d %H:%M:%S'
    batches = []
    for first in range(1, total + 1, batchSize):
        ids = range(first, min(first + batchSize, total + 1))
        landed = max(inputFile.firstSeen.get(i, float('nan')) for i in ids)
        entry = {'batch': len(batches) + 1, 'ids': [ids[0], ids[-1]],
                 'landed': landed - launched}
        if all(i in movieSeen for i in ids):
            movies = max(movieSeen[i] for i in ids)
            entry['movies_in_outputs'] = movies - launched
            # The protocol cannot see what landed before it was launched.
            entry['delay'] = movies - max(landed, launched)
            if all(i in allSeen for i in ids):
                entry['delay_all_outputs'] = max(allSeen[i] for i in ids) - max(
                    landed, launched)
            try:
                inStamp = min(datetime.datetime.strptime(
                    inputFile.creation[i], stampFormat) for i in ids)
                outStamp = max(datetime.datetime.strptime(
                    creation[i], stampFormat) for i in ids)
                entry['delay_creation_stamps'] = (outStamp - inStamp).total_seconds()
            except (KeyError, TypeError, ValueError):
                pass
        batches.append(entry)
    return batches


def commits_cpu(outputs, tree, pid, launched, stepStarted):
    """Movie-output commits seen from outside, with the protocol's CPU time
    since the previous one (the work of the polls in between; for the first,
    since its step started, so process start-up is not counted). The commit
    that closes the outputs (it also finishes the run) is left out."""
    from xmipp3.maxshift.names import MOVIE_SPLIT
    seen = {}
    closing = min([outputs[name].closedAt for name in MOVIE_SPLIT
                   if outputs[name].closedAt] or [float('inf')])
    for name in MOVIE_SPLIT:
        for stamp, count in outputs[name].events:
            if stamp < closing:
                seen[stamp] = seen.get(stamp, 0) + count
    commits, total, previous = [], 0, stepStarted
    for stamp in sorted(seen):
        cpu = tree.cpuAt(pid, stamp) - tree.cpuAt(pid, previous)
        commits.append({'at': stamp - launched, 'new_movies': seen[stamp],
                        'movies_before': total, 'cpu_seconds': cpu})
        total += seen[stamp]
        previous = stamp
    return commits


def growth(pairs):
    """First and last (new movies, seconds) with new movies: s per movie."""
    pairs = [(new, seconds) for new, seconds in pairs if new > 0]
    if len(pairs) < 2:
        return None
    head, tail = pairs[:max(1, len(pairs) // 4)], pairs[-max(1, len(pairs) // 4):]

    def perMovie(group):
        return sum(s for _, s in group) / sum(n for n, _ in group)
    first, last = pairs[0][1] / pairs[0][0], pairs[-1][1] / pairs[-1][0]
    return {'first_s_per_movie': first, 'last_s_per_movie': last,
            'ratio_last_first': last / first if first else None,
            'first_quarter_s_per_movie': perMovie(head),
            'last_quarter_s_per_movie': perMovie(tail),
            'ratio_quarters': perMovie(tail) / perMovie(head)}


def poll_growth(polls):
    """From the run record's polls; the final poll (it also closes the
    outputs) is left out."""
    if not polls:
        return None
    return growth([(p['new_movies'], p['seconds']) for p in polls if not p['final']])


# --------------------------------------------------------------- table --
def fmt(value, unit='s'):
    if value is None:
        return '-'
    if unit == 's':
        return '%.2f s' % value
    if unit == 'MB':
        return '%.0f MB' % value
    if unit == 'x':
        return '%.2fx' % value
    if unit == 'ms':
        return '%.3f ms' % value
    return str(value)


def fmt_load(value):
    return '-' if value is None else '%.2f' % value


def met(flag):
    return '-' if flag is None else ('yes' if flag else 'NO')


def build_table(results):
    rows = []

    def row(figure, value, floors='', target='', ok=None):
        rows.append({'figure': figure, 'value': value, 'vs_floors': floors,
                     'target': target, 'met': met(ok)})

    launch = results.get('launch_floor') or {}
    launchS = launch.get('seconds')
    if launchS is not None:
        spread = [run['seconds'] for run in launch['runs']]
        row('launch floor (empty protocol, median)', fmt(launchS),
            '%d runs: min %.2f, max %.2f' % (len(spread), min(spread),
                                            max(spread)))
        row('launch floor: peak RSS of the empty protocol',
            fmt(launch.get('peak_rss_mb'), 'MB'))
    plot = results.get('summary_plot')
    if plot:
        row('summary plot N=%d: read CSV + draw + save PNG (median)' % plot['movies'],
            fmt(plot['seconds']),
            'in-process; %d draws after a first draw of %.2f s (it loads the fonts); PNG %d kB'
            % (len(plot['runs']) - 1, plot['first_seconds'], plot['png_bytes'] // 1024),
            '<= %g s' % PLOT_TARGET_SECONDS, plot['seconds'] <= PLOT_TARGET_SECONDS)
    closed = results.get('closed', {})
    sizes = sorted(int(n) for n in closed)
    largest = sizes[-1] if sizes else None
    for n in sizes:
        entry = closed[str(n)]
        if 'error' in entry:
            row('closed N=%d' % n, 'ERROR', entry['error'][:60])
            continue
        io = entry['io_floor_seconds']
        row('I/O floor N=%d (plain script, median)' % n, fmt(io),
            '%.1f us/movie' % (1e6 * io / n))
        runs = entry['runs']
        wall = entry['wall']
        floors = io + launchS if launchS is not None else None
        label = 'maxshift closed N=%d: wall launch->outputs closed (median)' % n
        ratio = ('%.2fx (I/O+launch); launch %+.2f s; to process end %.2f s'
                 % (wall / floors, wall - launchS, median(
                     [run['wall_to_process_end'] for run in runs]))
                 ) if floors else ''
        target, ok = '', None
        if n == 200:
            target, ok = '<= launch floor + 2 s', wall <= launchS + 2.0
        elif n == largest and n >= 5000:
            target = '<= 2x (I/O + launch)' + (
                '' if n == 20000 else ' [set for N=20000]')
            ok = wall <= 2 * floors
        row(label, fmt(wall), ratio + '; %d runs' % len(runs), target, ok)
        middle = sorted(runs, key=lambda r: r['wall_to_outputs_closed'])[
            (len(runs) - 1) // 2]
        breakdown = middle.get('breakdown')
        if breakdown:
            row('  where (median run): start / polls / rest of step / exit',
                ' / '.join('%.2f' % v for v in breakdown.values()) + ' s',
                'polls logged: %s; other load %s cores' % (
                    ', '.join('%.2f s' % p['seconds'] for p in middle['polls']),
                    fmt_load(middle.get('other_load_cores'))))
        peak = max(run['peak_rss_mb'] for run in runs)
        target, ok = '', None
        if n == largest and n >= 5000:
            target = '< 300 MB' + ('' if n == 20000 else ' [set for N=20000]')
            ok = peak < 300
        row('maxshift closed N=%d: peak RSS (max of runs)' % n, fmt(peak, 'MB'),
            'I/O floor %s' % fmt(entry['io_floor_peak_rss_mb'], 'MB'),
            target, ok)
        finalPlots = [run['summary_plots'][-1][1] for run in runs
                      if run.get('summary_plots')]
        if finalPlots:
            row('maxshift closed N=%d: last summary plot (its log, median)' % n,
                fmt(median(finalPlots)), 'the protocol\'s own "Summary plot of '
                '%d movies drawn in" line; %d runs' % (n, len(finalPlots)))
        identical = all(run['decisions']['identical'] for run in runs)
        row('maxshift closed N=%d: decisions = direct default-rule' % n,
            'identical' if identical else 'DIFFER', '', 'identical', identical)
    stream = results.get('streaming')
    if stream and 'error' in stream:
        row('streaming', 'ERROR', stream['error'][:60])
    elif stream:
        total = stream['movies']
        name = 'streaming %d x %d every %g s' % (
            stream['batch_count'], stream['batch_size'], stream['batch_interval'])
        wall = stream['wall_to_outputs_closed']
        tail = (None if wall is None or stream['input_closed_at'] is None
                else wall - stream['input_closed_at'])
        row('%s: wall launch->outputs closed' % name, fmt(wall),
            'input closed at %s; after it %s; + launch floor = %s' % (
                fmt(stream['input_closed_at']), fmt(tail),
                fmt(None if stream['input_closed_at'] is None or launchS is None
                    else stream['input_closed_at'] + launchS)))
        delays = [b['delay'] for b in stream['batches'] if 'delay' in b]
        limit = stream['poll_interval'] + 1.0
        missing = len(stream['batches']) - len(delays)
        row('%s: batch delay input->outputs, max' % name,
            fmt(max(delays) if delays else None),
            'median %s; %d of %d within limit%s' % (
                fmt(median(delays)), sum(d <= limit for d in delays),
                len(stream['batches']),
                '; %d never appeared' % missing if missing else ''),
            '<= poll interval + 1 s = %g s' % limit,
            bool(delays) and not missing and max(delays) <= limit)
        stamps = [b['delay_creation_stamps'] for b in stream['batches']
                  if 'delay_creation_stamps' in b]
        if stamps:
            row('%s: batch delay by creation stamps, max' % name,
                '%d s' % max(stamps), '1 s resolution: true delay within '
                '+-1 s; median %g s' % median(stamps))
        polls = stream.get('poll_growth')
        if polls:
            row('%s: time per poll per new movie, first -> last' % name,
                '%s -> %s' % (fmt(1e3 * polls['first_s_per_movie'], 'ms'),
                              fmt(1e3 * polls['last_s_per_movie'], 'ms')),
                'ratio %.2f; quarters %.2f (%d polls logged)' % (
                    polls['ratio_last_first'], polls['ratio_quarters'],
                    len(stream['polls'])),
                'last <= 1.5x first', polls['ratio_last_first'] <= 1.5)
        else:
            row('%s: time per poll' % name, 'not measured',
                '%d "Poll N: ..." lines in the log; 2 non-final polls with new '
                'movies needed' % len(stream['polls']), 'last <= 1.5x first')
        cpu = stream.get('cpu_growth')
        if cpu:
            row('%s: CPU per commit per new movie, first -> last' % name,
                '%s -> %s' % (fmt(1e3 * cpu['first_s_per_movie'], 'ms'),
                              fmt(1e3 * cpu['last_s_per_movie'], 'ms')),
                'ratio %.2f; quarters %.2f (outside view, %d commits)' % (
                    cpu['ratio_last_first'], cpu['ratio_quarters'],
                    len(stream['commits_cpu'])))
        row('%s: peak RSS' % name, fmt(stream['peak_rss_mb'], 'MB'),
            '%d movies; other load %s cores' % (
                total, fmt_load(stream.get('other_load_cores'))))
        identical = stream['decisions']['identical']
        row('%s: decisions = direct default-rule' % name,
            'identical' if identical else 'DIFFER', '', 'identical', identical)
    return rows


def print_table(rows):
    keys = ('figure', 'value', 'vs_floors', 'target', 'met')
    header = dict(zip(keys, ('figure', 'value', 'vs floors / detail',
                             'target', 'met')))
    widths = [max(len(str(r[key])) for r in [header] + rows) for key in keys]
    line = '  '.join('%%-%ds' % width for width in widths)
    for index, r in enumerate([header] + rows):
        print((line % tuple(r[key] for key in keys)).rstrip())
        if index == 0:
            print('  '.join('-' * width for width in widths))


# ---------------------------------------------------------------- main --
def compare(files):
    """Print the tables of earlier runs side by side (figures by name)."""
    runs = []
    for name in files:
        with open(name) as result:
            runs.append(json.load(result))
    figures = []
    for run in runs:
        for r in run['table']:
            if r['figure'] not in figures:
                figures.append(r['figure'])
    rows = []
    for figure in figures:
        entry = {'figure': figure}
        for index, run in enumerate(runs):
            found = [r for r in run['table'] if r['figure'] == figure]
            entry['run%d' % index] = (
                '%s%s' % (found[0]['value'], '' if found[0]['met'] == '-' else
                          ' (%s)' % found[0]['met']) if found else '')
        rows.append(entry)
    keys = ['figure'] + ['run%d' % i for i in range(len(runs))]
    header = dict(zip(keys, ['figure'] + [
        '%s %s%s' % (run['started'], (run['git']['commit'] or '?')[:8],
                     '+' if run['git']['dirty'] else '') for run in runs]))
    widths = [max(len(r[key]) for r in [header] + rows) for key in keys]
    line = '  '.join('%%-%ds' % width for width in widths)
    for index, r in enumerate([header] + rows):
        print((line % tuple(r[key] for key in keys)).rstrip())
        if index == 0:
            print('  '.join('-' * width for width in widths))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.compare:
        return compare(args.compare)
    if args.py_spy and not pyspy_profile.pyspy_executable():
        sys.exit('--py-spy: py-spy not found; install it into this '
                 'environment (%s -m pip install py-spy)' % sys.executable)
    stamp = time.strftime('%Y%m%d-%H%M%S')
    resultsDir = os.path.join(HERE, 'results')
    os.makedirs(resultsDir, exist_ok=True)
    workDir = os.path.abspath(args.workdir or os.path.join(resultsDir,
                                                           'work-' + stamp))
    outFile = os.path.abspath(args.out or os.path.join(resultsDir,
                                                       stamp + '.json'))
    scipion_headless.configure(workDir)
    project = scipion_headless.open_project('bench', os.path.join(workDir,
                                                                  'projects'))
    bench = Bench(project, args, workDir)
    try:
        results = run_all(bench, args, stamp, outFile)
    finally:
        bench.stop_leftovers()
    if args.keep:
        print('Project kept: %s' % project.path)
    else:
        os.chdir(REPO)
        shutil.rmtree(workDir, ignore_errors=True)
    return results


def run_all(bench, args, stamp, outFile):
    import psutil
    began = time.time()
    results = {'started': stamp, 'args': vars(args), 'git': git_state(),
               'machine': {'python': sys.version.split()[0],
                           'platform': platform.platform(),
                           'cpus': os.cpu_count(),
                           'memory_gb': psutil.virtual_memory().total / 2.0 ** 30,
                           'loadavg_start': os.getloadavg()},
               'project': bench.project.path}

    def step(what):
        print('[%6.1f s] %s' % (time.time() - began, what), flush=True)

    if args.plot_movies > 0:
        step('summary plot: %d movies, %d draws in this process'
             % (args.plot_movies, args.repeats + 1))
        results['summary_plot'] = bench.summary_plot(args.plot_movies,
                                                     args.repeats + 1)
        step('summary plot %.2f s' % results['summary_plot']['seconds'])

    step('launch floor: %d launches of an empty protocol' % args.launch_repeats)
    results['launch_floor'] = bench.launch_floor()
    step('launch floor %.2f s' % results['launch_floor']['seconds'])

    results['closed'] = {}
    for n in args.closed:
        entry = results['closed'][str(n)] = {}
        try:
            step('closed N=%d: simulating the input' % n)
            simulation, entry['simulation_seconds'] = bench.simulate_closed(n)
            floors = []
            for index in range(args.repeats):
                step('closed N=%d: I/O floor %d/%d' % (n, index + 1, args.repeats))
                floors.append(bench.io_floor(simulation, 'N%d-%d' % (n, index)))
            reference = floors[0]['ids']
            entry['io_floor_runs'] = [{k: v for k, v in f.items() if k != 'ids'}
                                      for f in floors]
            entry['io_floor_seconds'] = median([f['seconds'] for f in floors])
            entry['io_floor_peak_rss_mb'] = max(f['peak_rss_mb'] for f in floors)
            entry['reference_counts'] = {k: len(v) for k, v in reference.items()}
            entry['runs'] = []
            for index in range(args.repeats):
                step('closed N=%d: maxshift %d/%d' % (n, index + 1, args.repeats))
                run = bench.run_closed(simulation, n, reference,
                                       '#%d' % (index + 1))
                entry['runs'].append(run)
                step('  wall %s, peak %.0f MB, decisions %s' % (
                    fmt(run['wall_to_outputs_closed']), run['peak_rss_mb'],
                    'identical' if run['decisions']['identical'] else
                    run['decisions']['problems']))
            walls = [run['wall_to_outputs_closed'] for run in entry['runs']]
            entry['wall'] = (None if None in walls else median(walls))
            if entry['wall'] is None:
                raise RuntimeError('outputs never all closed: %s' % walls)
            if args.py_spy and n == max(args.closed):
                step('closed N=%d: one more maxshift run under py-spy' % n)
                try:
                    run = bench.run_closed(
                        simulation, n, reference, 'py-spy',
                        outFile[:-len('.json')] + '-N%d.pyspy.txt' % n)
                    entry['profiled_run'] = run
                    pyspy_profile.print_summary(
                        run['profile'], 'maxshift closed N=%d (wall %.2f s '
                        'under py-spy)' % (n, run['wall_to_outputs_closed']))
                except Exception as error:
                    entry['profile_error'] = '%s: %s' % (type(error).__name__,
                                                         error)
                    step('py-spy profile FAILED: %s' % entry['profile_error'])
                    bench.stop_leftovers()
        except Exception as error:  # record it, go on with the rest
            entry['error'] = '%s: %s' % (type(error).__name__, error)
            step('closed N=%d FAILED: %s' % (n, entry['error']))
            bench.stop_leftovers()

    if args.stream_total > 0:
        step('streaming: %d movies in batches of %d every %g s' % (
            args.stream_total, args.stream_batch, args.stream_interval))
        try:
            stream = bench.run_streaming()
            stream.update({'movies': args.stream_total,
                           'batch_size': args.stream_batch,
                           'batch_interval': args.stream_interval,
                           'batch_count': len(stream['batches'])})
            results['streaming'] = stream
        except Exception as error:
            results['streaming'] = {'error': '%s: %s' % (type(error).__name__,
                                                         error)}
            step('streaming FAILED: %s' % results['streaming']['error'])
            bench.stop_leftovers()

    results['machine']['loadavg_end'] = os.getloadavg()
    results['source_versions'] = sorted(bench.sources)
    results['table'] = build_table(results)
    results['total_seconds'] = time.time() - began
    with open(outFile, 'w') as out:
        json.dump(results, out, indent=1, default=str)
    step('done')
    print('\nmovie maxshift benchmark, %s (%s%s), protocol sha1 %s' % (
        stamp, (results['git']['commit'] or '?')[:10],
        ' + uncommitted changes' if results['git']['dirty'] else '',
        results['git']['protocol_sha1'][:10]))
    print_table(results['table'])
    if len(bench.sources) > 1:
        print('\nWARNING: the plugin sources changed while the benchmark ran '
              '(%d versions launched; each run\'s source_sha1 is in the JSON): '
              'figures of different code are mixed.' % len(bench.sources))
    loads = [run.get('other_load_cores') or 0.0
             for entry in results['closed'].values() for run in entry.get('runs', [])]
    loads.append((results.get('streaming') or {}).get('other_load_cores') or 0.0)
    if max(loads) > 0.3:
        print('\nNOTE: other processes kept up to %.1f of %d cores busy during '
              'the runs (load average %.1f at start, %.1f at end): the figures '
              'are noisy; run it on an idle machine to compare commits.' % (
                  max(loads), os.cpu_count(),
                  results['machine']['loadavg_start'][0],
                  results['machine']['loadavg_end'][0]))
    print('\nJSON: %s' % outFile)
    return results


if __name__ == '__main__':
    main()
