"""Per-movie cost of the numpy path of movie maxshift (issue 13's
frame-level figures included), in-process, without a protocol or sets.

    PYTHONPATH=build/standalone:. .venv/bin/python bench/frames_cost.py [--movies N]

Random walks like the benchmark's input (40 frames, 10 % outliers, seed 1,
frames 1-40, 1 e/A2 per frame), default rule (by frame or movie, 10 A,
45 A). The shifts are pyworkflow CsvLists, as MovieAlignment.getShifts()
returns them (plain lists with --lists or without pyworkflow).

Prints the best of --repeats timings of each piece, in us per movie:
measure_motion, measure_dose_motion, the shifts in A (as the protocol's
_movieFrames converts them), movie_frames, FrameProfile.add,
DriftDirections.add and only_first_frames_fail, then their sum; and apart,
the shifts in A converted from plain-list copies, or from Motion.shifts.
"""
import argparse
import time

import numpy as np

from xmipp3.maxshift import frames, motion
from xmipp3.maxshift.simulation import random_walk_trajectories

RULE = (motion.REJ_OR, 10.0, 45.0)


def movies(count, lists=False):
    walks = random_walk_trajectories(count, n_frames=40, outlier_fraction=0.1,
                                     seed=1)
    shifts = list
    if not lists:
        try:
            from pyworkflow.object import CsvList
        except ImportError:
            pass
        else:
            def shifts(values):
                csv = CsvList(pType=float)
                csv.extend(values)
                return csv
    return [(shifts(w['shift_x_px']), shifts(w['shift_y_px']), w['pixel_size_A'])
            for w in walks]


def best(function, items, repeats):
    """Best time of function over items, in us per item."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            function(item)
        times.append(time.perf_counter() - start)
    return 1e6 * min(times) / len(items)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--movies', type=int, default=20000)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--lists', action='store_true', help='shifts as plain lists')
    args = parser.parse_args()
    walks = movies(args.movies, args.lists)
    numbering = {'frame_range': (1, 40), 'eer': False, 'movie_frames': 40}

    measured = [motion.measure_motion(x, y, rate, **numbering) for x, y, rate in walks]
    accepted = [motion.decide(m, *RULE).accepted for m in measured]
    inA = [tuple(np.asarray(s, dtype=float) * rate for s in (x, y))
           for x, y, rate in walks]
    figures = [frames.movie_frames(x, y, m.layout.first_frame, ok, *RULE)
               for (x, y), m, ok in zip(inA, measured, accepted)]
    profile, directions = frames.FrameProfile(), frames.DriftDirections()
    pieces = {
        'measure_motion': (lambda w: motion.measure_motion(*w, **numbering), walks),
        'measure_dose_motion': (lambda item: motion.measure_dose_motion(
            *item[0], 1.0, 0.0, 1, 4.0, measured=item[1]), list(zip(walks, measured))),
        'shifts in A (protocol)': (lambda w: tuple(
            np.asarray(s, dtype=float) * w[2] for s in w[:2]), walks),
        'movie_frames': (lambda item: frames.movie_frames(
            *item[0], 1, item[1], *RULE), list(zip(inA, accepted))),
        'FrameProfile.add': (lambda item: profile.add(
            item[0].steps, item[0].frames, item[1]), list(zip(figures, accepted))),
        'DriftDirections.add': (lambda f: directions.add(f.shape.direction_deg), figures),
        'only_first_frames_fail': (lambda f: f.only_first_frames_fail, figures),
    }
    alternatives = {
        'shifts in A, list() first': (lambda w: tuple(
            np.asarray(list(s), dtype=float) * w[2] for s in w[:2]), walks),
        'shifts in A, Motion.shifts': (lambda item: tuple(
            s * item[0][2] for s in item[1].shifts), list(zip(walks, measured))),
    }
    total = 0.0
    print('%d movies of 40 frames (%s), %d discarded; best of %d, us per movie'
          % (len(walks), type(walks[0][0]).__name__, accepted.count(False), args.repeats))
    for name, (function, items) in pieces.items():
        cost = best(function, items, args.repeats)
        total += cost
        print('%-26s %6.2f' % (name, cost))
    print('%-26s %6.2f' % ('total', total))
    for name, (function, items) in alternatives.items():
        print('%-26s %6.2f  (not in the total)' % (name, best(function, items, args.repeats)))


if __name__ == '__main__':
    main()
