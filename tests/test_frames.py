"""Frame-level motion (xmipp3.maxshift.frames, pure numpy): jump frames,
the range of frames that would pass, trajectory shape, the session's
per-frame profile and drift directions."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xmipp3.maxshift import frames as F
from xmipp3.maxshift.motion import (REJ_AND, REJ_FRAME, REJ_MOVIE, REJ_OR, decide,
                                    frame_steps, measure_motion)
from xmipp3.maxshift.simulation import BUNDLED_TRAJECTORIES

RULES = (REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR)


def along_x(steps, first=0.0):
    return np.concatenate([[first], first + np.cumsum(steps)]), np.zeros(len(steps) + 1)


def bundled():
    with open(BUNDLED_TRAJECTORIES) as data:
        for entry in json.load(data):
            rate = entry['pixel_size_A']
            yield entry, (np.array(entry['shift_x_px']) * rate,
                          np.array(entry['shift_y_px']) * rate)


steps_strategy = st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=30)


# -------------------------------------------------------------- jump frames
def test_jump_frames_name_the_frames_whose_step_is_over_the_limit():
    assert F.jump_frames([1, 12.77, 1, 11], range(3, 8), 10) == (5, 7)
    assert F.jump_frames([1, 10, 1], range(1, 5), 10) == ()  # limits are inclusive
    assert F.jump_frames([1, 50], range(1, 4), None) == ()


@given(steps_strategy, st.floats(0.1, 40))
def test_jump_frames_are_empty_exactly_when_the_max_frame_shift_is_within_the_limit(steps, limit):
    frames = np.arange(1, len(steps) + 2)
    jumps = F.jump_frames(steps, frames, limit)
    assert (jumps == ()) == (max(steps) <= limit)
    assert all(steps[f - 2] > limit for f in jumps)


# ------------------------------------------------------------ passing range
def brute_force_range(steps, rule, frameLimit, movieLimit, minFrames):
    best = None
    for first in range(len(steps) + 1):
        for last in range(first + 1, len(steps) + 1):
            window = np.asarray(steps[first:last])
            x, y = along_x(window)
            if last - first + 1 >= minFrames and decide(
                    measure_motion(x, y, 1.0), rule, frameLimit, movieLimit).accepted:
                if best is None or last - first > best[1] - best[0]:
                    best = (first, last)
    return None if best is None else (best[0] + 1, best[1] + 1)


def test_a_movie_that_only_moved_in_its_first_frames_passes_from_frame_3():
    steps = [25, 15] + [1] * 20
    assert F.passing_range(steps, range(1, 24), REJ_OR, 10, 45) == (3, 23)
    assert F.passing_range(steps, range(3, 26), REJ_OR, 10, 45) == (5, 25)
    assert F.passing_range([20] * 10, range(1, 12), REJ_OR, 10, 45) is None


whole_steps = st.lists(st.integers(0, 50).map(float), min_size=1, max_size=30)  # exact sums


@settings(max_examples=300)
@given(whole_steps, st.sampled_from(RULES), st.integers(1, 30).map(float),
       st.integers(5, 200).map(float), st.floats(0.1, 0.9))
def test_the_passing_range_passes_the_rule_and_none_is_larger(steps, rule, frameLimit,
                                                              movieLimit, share):
    frames = np.arange(1, len(steps) + 2)
    found = F.passing_range(steps, frames, rule, frameLimit, movieLimit, share)
    minFrames = max(2, int(np.ceil(share * len(frames))))
    expected = brute_force_range(steps, rule, frameLimit, movieLimit, minFrames)
    if expected is None:
        assert found is None
        return
    assert found is not None and found[1] - found[0] == expected[1] - expected[0]
    x, y = along_x(steps[found[0] - 1:found[1] - 1])
    assert decide(measure_motion(x, y, 1.0), rule, frameLimit, movieLimit).accepted


# -------------------------------------------------------------------- shape
def test_designed_trajectories_get_their_shape():
    assert F.trajectory_shape(*along_x([5] * 12)).shape == F.SHAPE_STEADY
    assert F.trajectory_shape(*along_x([1, 1, 15, 1, 1])).shape == F.SHAPE_JUMP
    assert F.trajectory_shape(*along_x([8, 5, 3, 1, 1, 1, 1, 1, 1])).shape == F.SHAPE_EARLY
    zigzag = (np.array([0, 1, 0, 1, 0, 1, 0.]), np.array([0, 1, 2, 1, 0, 1, 2.]))
    assert F.trajectory_shape(*zigzag).shape == F.SHAPE_IRREGULAR
    assert F.trajectory_shape([0, 0, 0], [0, 0, 0]).shape == F.SHAPE_STILL
    assert F.trajectory_shape(*along_x([3, 3])).shape == F.SHAPE_SHORT
    away_and_back = (np.array([0, 0, 0, 755, 0, 456, 0, 0.]), np.zeros(8))
    assert F.trajectory_shape(*away_and_back).shape == F.SHAPE_JUMP


def test_shape_figures_of_a_straight_drift_and_a_return():
    shape = F.trajectory_shape([0, 1, 2, 3], [0, 1, 2, 3])
    assert shape.straightness == pytest.approx(1.0)
    assert shape.direction_deg == pytest.approx(45.0)
    assert shape.first_third_share == pytest.approx(1 / 3)
    assert shape.largest_step_share == pytest.approx(1 / 3)
    back = F.trajectory_shape([0, 2, 0], [0, 0, 0])
    assert back.straightness == 0 and np.isnan(back.direction_deg)


def test_on_the_bundled_trajectories_the_tutorial_moves_early_and_the_failed_tilt_jumps():
    shapes = [(entry['dataset'], entry['name'], F.trajectory_shape(x, y).shape)
              for entry, (x, y) in bundled()]
    tutorial = [shape for dataset, _, shape in shapes
                if dataset.startswith('RELION SPA tutorial')]  # 24 movies, processed 2-3 times
    assert len(tutorial) == 49 and set(tutorial) == {F.SHAPE_EARLY}
    jumps = [name for _, name, shape in shapes if shape == F.SHAPE_JUMP]
    assert jumps == ['TS_01_039_-60_0']  # the failed alignment, 755 A away and back


centi = st.integers(-10000, 10000).map(lambda value: value / 100)  # A, 0.01 A apart
xy_strategy = st.lists(st.tuples(centi, centi), min_size=2, max_size=25)


@given(xy_strategy, st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_shape_is_independent_of_the_reference_frame(points, dx, dy):
    x, y = np.array(points).T
    moved = F.trajectory_shape(x + dx, y + dy)
    shape = F.trajectory_shape(x, y)
    assert moved.shape == shape.shape
    for field in ('straightness', 'first_third_share', 'largest_step_share'):
        assert getattr(moved, field) == pytest.approx(getattr(shape, field), nan_ok=True,
                                                      abs=1e-6)
    if np.isfinite(shape.straightness):
        assert 0 <= shape.straightness <= 1
        assert 0 < shape.largest_step_share <= 1


# ---------------------------------------------------------- session profile
def test_profile_quantiles_follow_numpy_within_the_bin_resolution():
    generator = np.random.default_rng(1)
    profile = F.FrameProfile()
    steps = generator.lognormal(0, 1, size=(500, 10))
    for movie in steps:
        profile.add(movie, np.arange(1, 12), True)
    for frame in profile.stats(True):
        column = steps[:, frame.frame - 2]
        assert frame.movies == 500
        assert frame.median == pytest.approx(np.median(column), rel=0.04)
        assert frame.p90 == pytest.approx(np.percentile(column, 90), rel=0.04)
    assert profile.stats(False) == []


def test_profile_counts_every_movie_whenever_it_is_read(monkeypatch):
    # movies are counted in batches: reading between batches, with frames
    # that grow the histograms, counts the same as one movie at a time
    generator = np.random.default_rng(2)
    movies = []
    for index in range(3 * F.PROFILE_BATCH + 7):
        first = int(generator.integers(1, 6))
        steps = generator.lognormal(0, 1, size=int(generator.integers(1, 40)))
        steps[generator.random(steps.size) < 0.05] = np.nan
        movies.append((steps, np.arange(first, first + steps.size + 1), index % 4 > 0))
    batched, single = F.FrameProfile(), F.FrameProfile()
    readings = []
    for index, movie in enumerate(movies):
        batched.add(*movie)
        if index % 101 == 0:
            readings.append((batched.stats(True), batched.stats(False)))
    monkeypatch.setattr(F, 'PROFILE_BATCH', 1)
    for index, movie in enumerate(movies):
        single.add(*movie)
        if index % 101 == 0:
            assert readings.pop(0) == (single.stats(True), single.stats(False))
    for accepted in (True, False):
        assert batched.stats(accepted) == single.stats(accepted)
        assert sum(s.movies for s in single.stats(accepted)) == sum(
            int(np.isfinite(steps).sum()) for steps, _, ok in movies if ok == accepted)


def test_profile_recommends_dropping_frames_that_move_much_more_than_the_rest():
    profile = F.FrameProfile()
    for _ in range(30):
        profile.add([6, 4] + [1] * 20, np.arange(1, 24), True)
        profile.add([50] * 22, np.arange(1, 24), False)  # discarded: not counted
    recommendation = profile.recommend()
    assert recommendation.first_frame == 3
    assert recommendation.moving_share == pytest.approx(10 / 30, rel=0.03)
    assert recommendation.late_level == pytest.approx(1.0, rel=0.02)


def test_profile_recommendation_on_the_bundled_sessions():
    tutorial, tilts = F.FrameProfile(), F.FrameProfile()
    for entry, (x, y) in bundled():
        if entry['dataset'].startswith('RELION SPA tutorial'):
            tutorial.add(frame_steps(x, y), np.arange(1, len(x) + 1), True)
        elif entry['dataset'].startswith('RELION 5 tomography') and len(x) == 10:
            tilts.add(frame_steps(x, y), np.arange(1, len(x) + 1), True)
    assert tutorial.recommend().first_frame == 1   # nothing to drop
    assert tilts.recommend().first_frame == 2      # frame 1 moves
    assert F.FrameProfile().recommend() is None


# --------------------------------------------------------- drift directions
def test_drift_directions_consistent_only_when_most_movies_drift_the_same_way():
    same, opposite = F.DriftDirections(), F.DriftDirections()
    for index in range(F.CONSISTENT_MIN_MOVIES):
        same.add(35.0 + (index % 3))
        opposite.add(35.0 + 180.0 * (index % 2))
    same.add(float('nan'))
    assert same.movies == F.CONSISTENT_MIN_MOVIES
    assert same.resultant_length() == pytest.approx(1.0, abs=1e-3)
    assert same.mean_direction() == pytest.approx(36.0, abs=0.1)
    assert same.consistent()
    assert opposite.resultant_length() == pytest.approx(0.0, abs=1e-9)
    assert not opposite.consistent()
    assert same.counts[3] == F.CONSISTENT_MIN_MOVIES
