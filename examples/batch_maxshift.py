"""Batch movie maxshift session, as a facility script would run it.

Creates (or opens) a headless Scipion project, streams simulated aligned
movies (random walks with some jumps and drifts) in small batches, runs
movie maxshift on them with the chosen rule and limits, waits for both and
prints the counts as `key=value` lines (other lines start with '#'):

    python examples/batch_maxshift.py /data/scipion --project session-42 \\
        --movies 50 --rule or --max-frame-shift 8 --max-movie-shift 40

With a real session, replace the simulator by your alignment protocol
(e.g. project.getProtocol(<id>) of a MotionCor2 run).
"""
import argparse
import os
import sys

import scipion_headless

RULES = ('frame', 'movie', 'and', 'or')  # motion.REJ_FRAME .. REJ_OR


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('folder', help='Scipion home, user data and projects '
                                       'go here (created if needed)')
    parser.add_argument('--project', default='maxshift-batch',
                        help='project name (opened if it exists)')
    parser.add_argument('--movies', type=int, default=50,
                        help='simulated movies')
    parser.add_argument('--batch-size', type=int, default=10,
                        help='movies per simulated batch')
    parser.add_argument('--batch-interval', type=float, default=1.0,
                        help='seconds between batches')
    parser.add_argument('--outliers', type=float, default=0.2,
                        help='share of movies with a jump or a drift')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--rule', choices=RULES, default='or',
                        help='discard by frame, by whole movie, by both '
                             '(and) or by either (or)')
    parser.add_argument('--max-frame-shift', type=float, default=10.0,
                        help='A between consecutive frames')
    parser.add_argument('--max-movie-shift', type=float, default=45.0,
                        help='A of total travel')
    parser.add_argument('--poll-interval', type=float, default=1.0,
                        help='seconds between maxshift checks of the stream')
    parser.add_argument('--timeout', type=float, default=600.0,
                        help='seconds to wait for each protocol')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    scipion_headless.configure(args.folder)  # before pyworkflow is imported
    from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation,
                              output_ids, wait_for_output, wait_until_done)
    from xmipp3.maxshift.names import (
        OUTPUT_MICS, OUTPUT_MICS_DISCARDED, OUTPUT_MICS_DW, OUTPUT_MICS_DW_DISCARDED,
        OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

    project = scipion_headless.open_project(
        args.project, os.path.join(args.folder, 'projects'))
    print('# project %s' % project.path)
    simulation = launch(project, new_simulation(
        project, source=1, numberOfMovies=args.movies,
        batchSize=args.batch_size, batchInterval=args.batch_interval,
        outlierFraction=args.outliers, seed=args.seed))
    wait_for_output(project, simulation, OUTPUT_MOVIES, timeout=args.timeout)
    maxshift = launch(project, new_maxshift(
        project, simulation, rejType=RULES.index(args.rule),
        maxFrameShift=args.max_frame_shift, maxMovieShift=args.max_movie_shift,
        pollInterval=args.poll_interval))
    print('# streaming %d movies into movie maxshift (run %d) ...'
          % (args.movies, maxshift.getObjId()))
    wait_until_done(project, simulation, timeout=args.timeout)
    wait_until_done(project, maxshift, timeout=args.timeout)

    ids = output_ids(maxshift)
    counts = {'simulated_movies': len(output_ids(simulation, OUTPUT_MOVIES)[OUTPUT_MOVIES]),
              'accepted_movies': len(ids[OUTPUT_MOVIES]),
              'discarded_movies': len(ids[OUTPUT_MOVIES_DISCARDED]),
              'accepted_micrographs': len(ids[OUTPUT_MICS]),
              'discarded_micrographs': len(ids[OUTPUT_MICS_DISCARDED]),
              'accepted_micrographs_dw': len(ids[OUTPUT_MICS_DW]),
              'discarded_micrographs_dw': len(ids[OUTPUT_MICS_DW_DISCARDED])}
    for line in maxshift.summary():
        print('# %s' % line)
    print('project_path=%s' % project.path)
    print('maxshift_run=%d' % maxshift.getObjId())
    print('motion_table=%s' % os.path.join(project.path,
                                           maxshift.getMotionTablePath()))
    for name, count in counts.items():
        print('%s=%d' % (name, count))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (RuntimeError, TimeoutError) as error:
        print('batch_maxshift: %s' % error, file=sys.stderr)
        sys.exit(1)
