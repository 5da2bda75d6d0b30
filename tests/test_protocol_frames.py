"""Which frames moved, in real runs: jump frames, the frames that would pass,
the trajectory's shape on the items and in the CSV, the session's frame
profile (extra/frame_profile.csv) and the summary, also after Continue."""
import csv
import json
import re
import tempfile

import pytest

from maxshift_checks import along_x, assert_split_consistent, run_static
from xmipp3.maxshift import frames, table
from xmipp3.maxshift.batch import (launch, new_maxshift, new_simulation, output_items,
                                   refresh, wait_for_output, wait_until_done)
from xmipp3.maxshift.names import (
    ATTR_DISCARD_REASON, ATTR_JUMP_FRAMES, ATTR_PASSING_FRAMES, ATTR_SHAPE,
    ATTR_STRAIGHTNESS, OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)

# id: trajectory (1 A/px), along x
DESIGNED = {1: along_x('calm', [1] * 22),
            2: along_x('frame_jump', [1] * 10 + [15] + [1] * 11),
            3: along_x('first_frames', [25, 15] + [1] * 20),
            4: along_x('drift', [5] * 22)}


def items(maxshift):
    return {movie.getObjId(): movie for name in (OUTPUT_MOVIES, OUTPUT_MOVIES_DISCARDED)
            for movie in output_items(maxshift, name)}


def read_profile(maxshift):
    with open(maxshift.getFrameProfilePath(), newline='') as profileFile:
        return list(csv.DictReader(profileFile))


def test_jump_frames_passing_frames_and_shapes_are_stored_and_written(project, tmp_json):
    sim, maxshift = run_static(project, tmp_json, [DESIGNED[i] for i in sorted(DESIGNED)])
    accepted, discarded = assert_split_consistent(sim, maxshift)
    assert discarded == {2, 3, 4}
    movies = items(maxshift)
    jumps = {i: movies[i].getAttributeValue(ATTR_JUMP_FRAMES) for i in movies}
    assert jumps == {1: '', 2: '12', 3: '2 3', 4: ''}
    reason = movies[2].getAttributeValue(ATTR_DISCARD_REASON)
    assert reason.startswith('max frame shift: 15.00') and ' at frame 12' in reason
    passing = {i: movies[i].getAttributeValue(ATTR_PASSING_FRAMES) for i in movies}
    # frame 12 moves: frames 1-11 or 12-23; the first-frame movie passes from 3
    assert passing == {1: '', 2: '12-23', 3: '3-23', 4: ''}
    shapes = {i: movies[i].getAttributeValue(ATTR_SHAPE) for i in movies}
    assert shapes == {1: frames.SHAPE_STEADY, 2: frames.SHAPE_JUMP,
                      3: frames.SHAPE_EARLY, 4: frames.SHAPE_STEADY}
    assert movies[4].getAttributeValue(ATTR_STRAIGHTNESS) == pytest.approx(1.0)
    rows = {row['id']: row for row in table.read_table(maxshift.getMotionTablePath())}
    for movieId in movies:
        assert rows[movieId]['jumpFrames'] == jumps[movieId]
        assert rows[movieId]['passingFrames'] == passing[movieId]
        assert rows[movieId]['shape'] == shapes[movieId]
    summary = '\n'.join(maxshift.summary())
    assert '1 discarded movie fails only because of its first frames' in summary
    assert 'Shapes of the discarded movies: ' in summary
    # Continue takes the figures back from the outputs: the same summary
    launch(project, maxshift)
    wait_until_done(project, maxshift)
    assert '\n'.join(refresh(project, maxshift).summary()) == summary


def test_frame_profile_is_the_sessions_steps_and_says_which_frames_to_drop(project):
    """60 movies whose first two frames move 6 and 4 A, then 1 A per frame."""
    trajectories = [along_x('m%d' % i, [6, 4] + [1] * 20) for i in range(60)]
    path = tempfile.mktemp(suffix='.json')
    with open(path, 'w') as trajectoryFile:
        json.dump(trajectories, trajectoryFile)
    sim = launch(project, new_simulation(project, trajectoryFile=path, batchSize=15,
                                         batchInterval=1.5, samplingRate=1.0))
    wait_for_output(project, sim, 'outputMovies')
    maxshift = launch(project, new_maxshift(project, sim, pollInterval=0.5,
                                            maxMovieShift=100.0))
    wait_for_output(project, maxshift, OUTPUT_MOVIES)
    project.stopProtocol(maxshift)  # the profile must survive Continue
    wait_until_done(project, sim)
    launch(project, maxshift)
    wait_until_done(project, maxshift)
    assert len(items(maxshift)) == 60
    profile = read_profile(maxshift)
    assert [int(row['frame']) for row in profile] == list(range(2, 24))
    assert all(int(row['accepted_movies']) == 60 for row in profile)
    medians = [float(row['accepted_median_A']) for row in profile]
    assert medians[:3] == [pytest.approx(6, rel=0.02), pytest.approx(4, rel=0.02),
                           pytest.approx(1, rel=0.02)]
    summary = '\n'.join(refresh(project, maxshift).summary())
    assert re.search(r'Frame profile: frames 1-2 carry 3[34] % of the motion; '
                     r'align from frame 3', summary), summary
    assert 'Movies drift consistently towards 0 deg (R = 1.00 over 60 movies)' in summary
    # what the viewer and the summary PNG draw of it
    from PIL import Image
    from test_viewer import viewer_of
    from xmipp3.maxshift import plots
    figure = viewer_of(project, maxshift)._framesFigure()
    byGid = {axes.get_gid(): axes for axes in figure.axes}
    profileAxes, polar = byGid[plots.GID_FRAME_PROFILE], byGid[plots.GID_DIRECTIONS]
    acceptedMedian = profileAxes.get_lines()[0]
    assert list(acceptedMedian.get_xdata()) == list(range(2, 24))
    assert list(acceptedMedian.get_ydata()) == medians
    drop, = [patch for patch in profileAxes.patches if patch.get_gid() == plots.GID_DROP]
    xs = drop.get_xy()[:, 0]
    assert (xs.min(), xs.max()) == (pytest.approx(1.5), pytest.approx(3.5))
    assert sum(bar.get_height() for bar in polar.patches) == 60
    width, height = Image.open(maxshift.getSummaryPlotPath()).size
    assert height == round((plots.SUMMARY_DOSE_SIZE[1] + plots.SUMMARY_FRAMES_HEIGHT)
                           * plots.SUMMARY_DPI)
