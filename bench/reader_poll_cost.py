"""Cost of one poll of movie maxshift's input reader (NewRowsReader) on a
large streaming input.

    .venv/bin/python bench/reader_poll_cost.py [--sizes 20000 100000] [--new 200]

For each size N it writes a real SetOfMovies file of N aligned movies (40
frames of random-walk shifts, as the simulator writes them), and a
SetOfMicrographs of N micrographs (maxshift reads two such sets), with creation
stamps as if 10 movies had come every second, lets a reader read all of it,
and then times:

- a poll that finds nothing new (median of --repeats polls);
- a poll after the producer appended --new items (median of --repeats
  rounds; the append is not timed, the poll reads the new items in full).

With --missing-every K the producer skips every K-th id, so the ids seen
leave many gaps and the reader lists every id instead of the gaps only.

The file is in the page cache, as it is when the producer has just written
it. Figures are wall times in ms; `--json` also writes them to a file.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import scipion_headless  # noqa: E402

FRAMES = 40


def item_ids(firstId, count, missingEvery):
    """count ids from firstId, skipping multiples of missingEvery (0: none);
    and the id after the last."""
    ids, itemId = [], firstId
    while len(ids) < count:
        if not (missingEvery and itemId % missingEvery == 0):
            ids.append(itemId)
        itemId += 1
    return ids, itemId


def append_items(path, kind, ids, trajectories):
    """Append items with these ids in one commit, as a producer's batch:
    aligned movies, or micrographs (no shifts, smaller rows). A new set
    gets an acquisition and a sampling rate."""
    import pwem.objects as emobj
    setClass = emobj.SetOfMovies if kind == 'movies' else emobj.SetOfMicrographs
    items = setClass(filename=path)
    if items._getMapper().hasProperty('self'):
        items.loadAllProperties()
        items.enableAppend()
    else:
        items.setSamplingRate(1.0)
        acquisition = items.getAcquisition()
        acquisition.setVoltage(300.0)
        acquisition.setSphericalAberration(2.7)
        acquisition.setAmplitudeContrast(0.1)
        acquisition.setDosePerFrame(1.0)
        acquisition.setDoseInitial(0.0)
    for itemId in ids:
        if kind == 'movies':
            shifts = trajectories[(itemId - 1) % len(trajectories)]
            item = emobj.Movie(location='movie_%06d.mrcs' % itemId)
            item.setFramesRange((1, FRAMES, 1))
            item.setAlignment(emobj.MovieAlignment(
                first=1, last=FRAMES, xshifts=shifts['shift_x_px'],
                yshifts=shifts['shift_y_px']))
        else:
            item = emobj.Micrograph(location='mic_%06d.mrc' % itemId)
        item.setObjId(itemId)
        item.setMicName('%06d_walk.mrc' % itemId)
        items.append(item)
    items.setStreamState(items.STREAM_OPEN)
    items.write()
    items.close()
    return setClass


def timed_poll(reader):
    started = time.perf_counter()
    count = sum(1 for _ in reader.iterNew())
    return (time.perf_counter() - started) * 1000.0, count


def measure(folder, kind, size, newPerPoll, repeats, trajectories, missingEvery):
    from xmipp3.maxshift.streaming import NewRowsReader
    path = os.path.join(folder, '%s_%d.sqlite' % (kind, size))
    started = time.perf_counter()
    ids, nextId = item_ids(1, size, missingEvery)
    setClass = append_items(path, kind, ids, trajectories)
    built = time.perf_counter() - started
    with sqlite3.connect(path) as db:  # as if 10 movies came every second
        db.execute("UPDATE Objects SET creation = datetime('now', "
                   "'-' || (10 + (%d - id) / 10) || ' seconds')" % ids[-1])
    db.close()
    reader = NewRowsReader(setClass, path)
    firstMs, firstCount = timed_poll(reader)
    assert firstCount == size, (firstCount, size)
    idle = []
    for _ in range(repeats):
        elapsed, count = timed_poll(reader)
        assert count == 0, count
        idle.append(elapsed)
    withNew = []
    for _ in range(repeats):
        ids, nextId = item_ids(nextId, newPerPoll, missingEvery)
        append_items(path, kind, ids, trajectories)
        elapsed, count = timed_poll(reader)
        assert count == newPerPoll, (count, newPerPoll)
        withNew.append(elapsed)
    result = {'set': kind, 'items': size, 'new_per_poll': newPerPoll,
              'missing_every': missingEvery, 'repeats': repeats,
              'file_MB': round(os.path.getsize(path) / 1e6, 1),
              'build_s': round(built, 1), 'first_read_ms': round(firstMs, 1),
              'poll_0_new_ms': round(statistics.median(idle), 2),
              'poll_0_new_max_ms': round(max(idle), 2),
              'poll_new_ms': round(statistics.median(withNew), 2),
              'poll_new_max_ms': round(max(withNew), 2)}
    os.remove(path)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[20000, 100000])
    parser.add_argument('--new', type=int, default=200,
                        help='movies appended before each timed poll (default 200)')
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--missing-every', type=int, default=0, metavar='K',
                        help='the producer skips every K-th id, as when an '
                             'aligner fails on some movies (default 0: none); '
                             'K < N/200 leaves the reader more than 200 gaps '
                             'between the ids it has seen')
    parser.add_argument('--json', help='also write the figures to this file')
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix='reader-poll-cost-')
    try:
        scipion_headless.configure(root)
        from xmipp3.maxshift.simulation import random_walk_trajectories
        trajectories = random_walk_trajectories(1000, FRAMES, 0.1, 1.0, seed=1)
        results = [measure(root, kind, size, args.new, args.repeats,
                           trajectories, args.missing_every)
                   for size in args.sizes for kind in ('movies', 'micrographs')]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print('%-12s %7s %8s %11s %12s %13s' % (
        'set', 'items', 'file MB', 'first read', 'poll, 0 new',
        'poll, %d new' % args.new))
    for r in results:
        print('%-12s %7d %8.1f %8.0f ms %9.1f ms %10.1f ms'
              % (r['set'], r['items'], r['file_MB'], r['first_read_ms'],
                 r['poll_0_new_ms'], r['poll_new_ms']))
    print('Medians of %d polls%s. A maxshift poll reads the movies and two '
          'micrograph sets:' % (args.repeats, ', every %d-th id missing'
                                % args.missing_every if args.missing_every else ''))
    for size in args.sizes:
        bySet = {r['set']: r for r in results if r['items'] == size}
        print('  N = %d: %.0f ms with 0 new, %.0f ms with %d new of each'
              % (size, *(bySet['movies'][key] + 2 * bySet['micrographs'][key]
                         for key in ('poll_0_new_ms', 'poll_new_ms')),
                 args.new))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as out:
            json.dump(results, out, indent=1)


if __name__ == '__main__':
    main()
