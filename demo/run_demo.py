"""Demo: stream the bundled real trajectories through movie maxshift.

Creates a headless Scipion project under FOLDER (default ./demo-output),
streams the 266 real RELION/MotionCor2 trajectories as aligned movies with the
simulator, runs movie maxshift with its default settings, and prints the
accepted and discarded counts and the movies that moved the most.

    ./dev demo [FOLDER]
"""
import os
import sys
import time

import scipion_headless

folder = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'demo-output')
scipion_headless.configure(folder)

from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation,  # noqa: E402
                          output_items, wait_for_output, wait_until_done)
from xmipp3.maxshift.names import (  # noqa: E402
    ATTR_DISCARD_REASON, ATTR_MAX_FRAME_SHIFT, ATTR_TOTAL_TRAVEL, OUTPUT_MOVIES,
    OUTPUT_MOVIES_DISCARDED)

SHOWN = 10


def main():
    project = scipion_headless.open_project(
        time.strftime('maxshift-demo-%Y%m%d-%H%M%S'),
        os.path.join(folder, 'projects'))
    started = time.time()
    sim = launch(project, new_simulation(project, batchSize=40,
                                         batchInterval=1.0))
    wait_for_output(project, sim, OUTPUT_MOVIES)
    print('Streaming 266 real trajectories in batches of 40 ...')
    maxshift = launch(project, new_maxshift(project, sim))
    wait_until_done(project, sim)
    wait_until_done(project, maxshift)
    movies = [(movie, movie.isEnabled())
              for name in (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
              for movie in output_items(maxshift, name)]
    accepted = sum(1 for _, isAccepted in movies if isAccepted)
    print('\nmovie maxshift (default rule: by frame or movie, 10 Å per frame, '
          '45 Å per movie) in %.1f s:' % (time.time() - started))
    print('  accepted %d, discarded %d of %d movies\n'
          % (accepted, len(movies) - accepted, len(movies)))

    def travel(entry):
        value = entry[0].getAttributeValue(ATTR_TOTAL_TRAVEL)
        return float('inf') if value is None else value
    print('The %d movies that moved the most:' % SHOWN)
    print('  %-4s %-38s %10s %10s  %s' % ('id', 'micName', 'max frame', 'travel',
                                          'decision'))
    for movie, isAccepted in sorted(movies, key=travel, reverse=True)[:SHOWN]:
        frameShift = movie.getAttributeValue(ATTR_MAX_FRAME_SHIFT)
        totalTravel = movie.getAttributeValue(ATTR_TOTAL_TRAVEL)
        print('  %-4d %-38s %8s Å %8s Å  %s' % (
            movie.getObjId(), movie.getMicName()[:38],
            '-' if frameShift is None else '%.1f' % frameShift,
            '-' if totalTravel is None else '%.1f' % totalTravel,
            'accepted' if isAccepted else
            'discarded: ' + movie.getAttributeValue(ATTR_DISCARD_REASON)))
    print('\nSummary:\n  ' + '\n  '.join(maxshift.summary()))
    print('\nProject: %s' % project.path)
    print('Per-movie table and summary plot: %s'
          % os.path.join(project.path, maxshift._getExtraPath()))
    print('Open it in Scipion\'s window: ./dev gui %s' % project.path)


if __name__ == '__main__':
    main()
