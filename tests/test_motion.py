"""Unit and property tests of xmipp3.maxshift.motion (pure numpy, no Scipion needed).

Shifts are in pixels, the sampling rate in A/px, metrics and limits in A.
Exact-threshold cases use shifts whose steps are exactly representable
(axis-aligned integer steps, or 3-4-5 triangles), so no assertion depends on
the last ulp.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xmipp3.maxshift.layout import (LAYOUT_FRAMES, LAYOUT_MISMATCH, LAYOUT_NO_RANGE,
                                    LAYOUT_NO_TRAJECTORY, aligned_range)
from xmipp3.maxshift.motion import (MOTION_ABSENT, MOTION_INVALID, MOTION_OK,
                           REJ_AND, REJ_FRAME, REJ_MOVIE, REJ_OR, RULE_NAMES,
                           Decision, Motion, decide, frame_steps,
                           measure_motion, rejected_by_rule, uses_frame_limit,
                           uses_movie_limit)

ALL_RULES = (REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR)

# database=None: do not leave a .hypothesis directory in the working tree.
FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------

# Realistic shifts: |shift| <= 1e4 px, no subnormals (which lose relative
# precision and would make tolerance-based comparisons meaningless).
reasonable_shift = st.floats(min_value=-1e4, max_value=1e4,
                             allow_nan=False, allow_subnormal=False)
reasonable_rate = st.floats(min_value=1e-2, max_value=1e2,
                            allow_nan=False, allow_subnormal=False)
limit = st.floats(min_value=0, max_value=1e5, allow_nan=False,
                  allow_subnormal=False)
rule = st.sampled_from(ALL_RULES)


@st.composite
def trajectories(draw, min_frames=1, max_frames=40):
    """Equal-length x and y lists of reasonable shifts."""
    n = draw(st.integers(min_value=min_frames, max_value=max_frames))
    x = draw(st.lists(reasonable_shift, min_size=n, max_size=n))
    y = draw(st.lists(reasonable_shift, min_size=n, max_size=n))
    return x, y


@st.composite
def valid_motions(draw):
    """A valid Motion measured from reasonable shifts."""
    x, y = draw(trajectories())
    motion = measure_motion(x, y, draw(reasonable_rate))
    assert motion.is_valid
    return motion


# Anything float-like: nan, +-inf, huge values (1e300, max float), subnormals.
any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1e300, -1e300, 1.7976931348623157e308,
                     -1.7976931348623157e308, 5e-324, np.nan, np.inf,
                     -np.inf]))
finite_float = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1e300, -1e300, 1.7976931348623157e308,
                     -1.7976931348623157e308, 5e-324]))
any_float_list = st.one_of(st.lists(any_float, max_size=30),
                           st.lists(finite_float, max_size=30))
any_float_array = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.float16]),
    shape=st.integers(min_value=0, max_value=30),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=16))
any_shifts = st.one_of(any_float_list, any_float_array)
any_rate = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.0, -0.0, -1, -1.5, np.nan, np.inf, -np.inf, 1e-320,
                     1e300, 1.7976931348623157e308]),
    st.integers(min_value=-10**6, max_value=10**6),
    st.sampled_from([None, 'abc', '1.5', [1.0], np.array([1.0, 2.0])]))
# Half of the fuzzed rates are positive, so the shifts get checked too.
fuzz_rate = st.one_of(st.floats(min_value=0, exclude_min=True,
                                allow_infinity=False), any_rate)


def assert_same_metrics(a, b, rel=1e-9, abs_=0.0):
    assert a.max_frame_shift == pytest.approx(b.max_frame_shift, rel=rel,
                                              abs=abs_)
    assert a.total_travel == pytest.approx(b.total_travel, rel=rel, abs=abs_)


# --------------------------------------------------------------------------
# frame_steps and measure_motion: ordinary movies
# --------------------------------------------------------------------------

def test_frame_steps_are_euclidean_lengths_of_consecutive_differences():
    steps = frame_steps([0, 3, 3, 0], [0, 4, 4, 0])
    np.testing.assert_array_equal(steps, [5.0, 0.0, 5.0])


def test_frame_steps_of_a_single_frame_are_empty():
    assert frame_steps([1.0], [2.0]).shape == (0,)


def test_max_frame_shift_is_largest_step_and_total_travel_is_path_length():
    # steps 5, 1, 5 px (3-4-5 triangles and an axis step) at 2 A/px
    motion = measure_motion([0, 3, 4, 1], [0, 4, 4, 0], 2.0)
    assert motion.quality == MOTION_OK
    assert motion.is_valid
    assert motion.problem == ''
    assert motion.n_frames == 4
    assert motion.max_frame_shift == pytest.approx(10.0)
    assert motion.total_travel == pytest.approx(22.0)


def test_total_travel_is_path_length_not_net_displacement():
    # There and back: net displacement 0, path length 2 * 3 px.
    motion = measure_motion([0, 3, 0], [0, 0, 0], 1.0)
    assert motion.total_travel == pytest.approx(6.0)
    assert motion.max_frame_shift == pytest.approx(3.0)


def test_metrics_are_in_angstrom_scaled_by_sampling_rate():
    one = measure_motion([0, 1, 3], [0, 0, 0], 1.0)
    scaled = measure_motion([0, 1, 3], [0, 0, 0], 0.885)
    assert scaled.max_frame_shift == pytest.approx(2 * 0.885)
    assert scaled.total_travel == pytest.approx(3 * 0.885)
    assert one.max_frame_shift == pytest.approx(2.0)


def test_numpy_arrays_lists_and_tuples_give_the_same_result():
    x, y = [0.0, 1.5, -2.0, 4.0], [0.0, 0.5, 1.0, -3.0]
    from_lists = measure_motion(x, y, 1.3)
    from_arrays = measure_motion(np.array(x), np.array(y), 1.3)
    from_tuples = measure_motion(tuple(x), tuple(y), np.float32(1.3))
    assert from_lists == from_arrays
    assert_same_metrics(from_lists, from_tuples, rel=1e-6)


def test_a_list_subclass_gives_the_same_result_and_the_shifts_are_kept_as_floats():
    class Shifts(list):  # like pyworkflow's CsvList, which getShifts() returns
        pass
    x, y = [0.0, 1.5, -2.0, 4.0], [0.0, 0.5, 1.0, -3.0]
    measured = measure_motion(Shifts(x), Shifts(y), 1.3, (1, 4))
    assert measured == measure_motion(x, y, 1.3, (1, 4))
    assert [shifts.tolist() for shifts in measured.shifts] == [x, y]
    assert [shifts.dtype for shifts in measured.shifts] == [np.float64] * 2
    assert measured.steps.tolist() == (frame_steps(x, y) * 1.3).tolist()
    assert measure_motion([0.0] * 3, [0.0] * 3, 1.0).shifts[0].tolist() == [0.0] * 3
    assert measure_motion([0.0, np.nan], [0.0, 1.0], 1.0).shifts is None


def test_metrics_are_python_floats():
    motion = measure_motion(np.array([0.0, 1.0]), np.array([0.0, 1.0]), 1.0)
    assert type(motion.max_frame_shift) is float
    assert type(motion.total_travel) is float


def test_constant_nonzero_shifts_measure_zero_motion_and_are_accepted():
    # Only *all zero* shifts are flagged as missing information; a constant
    # trajectory is a real measurement of no motion.
    motion = measure_motion([2.0] * 5, [-1.0] * 5, 1.0)
    assert motion.quality == MOTION_OK
    assert motion.max_frame_shift == 0.0
    assert motion.total_travel == 0.0
    assert all(decide(motion, r, 0.0, 0.0).accepted for r in ALL_RULES)


# --------------------------------------------------------------------------
# measure_motion: special cases from its docstring
# --------------------------------------------------------------------------

def test_single_frame_is_accepted_but_flagged_as_no_motion_information():
    motion = measure_motion([3.0], [4.0], 1.0)
    assert motion.quality == MOTION_ABSENT
    assert motion.is_valid
    assert motion.n_frames == 1
    assert motion.problem == 'a single frame'
    assert (motion.max_frame_shift, motion.total_travel) == (0.0, 0.0)
    assert all(decide(motion, r, 0.0, 0.0).accepted for r in ALL_RULES)


@pytest.mark.parametrize('x, y', [([0.0] * 10, [0.0] * 10),
                                  (np.zeros(7), np.zeros(7)),
                                  ([0.0, -0.0, 0.0], [-0.0, 0.0, 0.0])])
def test_all_zero_shifts_are_accepted_but_flagged_as_no_motion_information(
        x, y):
    motion = measure_motion(x, y, 1.0)
    assert motion.quality == MOTION_ABSENT
    assert motion.is_valid
    assert motion.n_frames == len(x)
    assert motion.problem == 'all shifts are zero'
    assert (motion.max_frame_shift, motion.total_travel) == (0.0, 0.0)
    for r in ALL_RULES:
        assert decide(motion, r, 0.0, 0.0) == Decision(True)


def test_a_single_nonzero_shift_among_zeros_is_real_motion():
    motion = measure_motion([0.0, 0.0, 0.0], [0.0, 0.0, 1.0], 1.0)
    assert motion.quality == MOTION_OK
    assert motion.max_frame_shift == pytest.approx(1.0)


@pytest.mark.parametrize('rate', [0, 0.0, -0.0, -1.0, -1e-9, np.nan, np.inf,
                                  -np.inf, None, 'abc', [1.0],
                                  np.array([1.0, 2.0])])
def test_sampling_rate_that_is_not_a_positive_number_is_invalid(rate):
    motion = measure_motion([0.0, 1.0], [0.0, 1.0], rate)
    assert motion.quality == MOTION_INVALID
    assert not motion.is_valid
    assert 'sampling rate' in motion.problem
    assert 'not a positive number' in motion.problem


def test_sampling_rate_given_as_numeric_string_is_accepted():
    # float() conversion: a numeric string is a number.
    motion = measure_motion([0.0, 1.0], [0.0, 0.0], '2')
    assert motion.is_valid
    assert motion.max_frame_shift == pytest.approx(2.0)


@pytest.mark.parametrize('x, y', [([0.0, 1.0, 2.0], [0.0, 1.0]),
                                  ([0.0], [0.0, 1.0]),
                                  ([], [0.0])])
def test_x_and_y_of_different_lengths_are_invalid(x, y):
    motion = measure_motion(x, y, 1.0)
    assert motion.quality == MOTION_INVALID
    assert motion.problem == 'x has %d shifts but y has %d' % (len(x), len(y))


@pytest.mark.parametrize('empty', [[], np.array([]), ()])
def test_no_shifts_is_invalid(empty):
    motion = measure_motion(empty, empty, 1.0)
    assert motion.quality == MOTION_INVALID
    assert motion.n_frames == 0
    assert motion.problem == 'no shifts'


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize('axis', ['x', 'y'])
def test_nan_or_infinite_shift_is_invalid(bad, axis):
    x, y = [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]
    (x if axis == 'x' else y)[1] = bad
    motion = measure_motion(x, y, 1.0)
    assert motion.quality == MOTION_INVALID
    assert motion.problem == '1 of 3 frames have NaN or infinite shifts'


def test_single_frame_with_nan_shift_is_invalid_not_absent():
    motion = measure_motion([np.nan], [0.0], 1.0)
    assert motion.quality == MOTION_INVALID


def test_non_numeric_shifts_are_invalid():
    for x in (['a', 'b'], [[0.0, 1.0], [2.0]], [object(), object()]):
        motion = measure_motion(x, [0.0, 0.0], 1.0)
        assert motion.quality == MOTION_INVALID, x
        assert motion.problem.startswith('shifts are not numbers'), x


@pytest.mark.parametrize('x, rate', [
    ([1.7e308, -1.7e308], 1.0),          # the difference overflows
    ([0.0, 1e308, -1e308], 1.0),         # each step fits, their sum does not
    ([0.0, 1e300], 1e10),                # the step times the rate overflows
])
def test_motion_too_large_to_represent_is_invalid(x, rate):
    motion = measure_motion(x, [0.0] * len(x), rate)
    assert motion.quality == MOTION_INVALID
    assert motion.problem == 'shifts too large to measure'


def test_huge_but_representable_motion_is_valid_and_rejected():
    motion = measure_motion([1e300, -1e300], [0.0, 0.0], 1.0)
    assert motion.quality == MOTION_OK
    assert motion.max_frame_shift == pytest.approx(2e300)
    assert not decide(motion, REJ_OR, 10.0, 100.0).accepted


def test_invalid_motion_has_nan_metrics():
    motion = measure_motion([0.0, np.nan], [0.0, 0.0], 1.0)
    assert math.isnan(motion.max_frame_shift)
    assert math.isnan(motion.total_travel)


@pytest.mark.parametrize('x, rate', [([10 ** 400, 0], 1.0),
                                     ([0.0, 1.0], 10 ** 400)])
def test_python_int_too_large_for_float_is_invalid_not_raised(x, rate):
    motion = measure_motion(x, [0.0, 0.0], rate)
    assert motion.quality == MOTION_INVALID


# --------------------------------------------------------------------------
# Rules: exact thresholds (limits are inclusive)
# --------------------------------------------------------------------------

# x steps 2 and 3 px at 2 A/px: max frame shift exactly 6 A, total 10 A.
EXACT = dict(x=[0.0, 2.0, 5.0], y=[0.0, 0.0, 0.0], rate=2.0)
EXACT_MAX, EXACT_TOTAL = 6.0, 10.0


@pytest.fixture
def exact_motion():
    motion = measure_motion(EXACT['x'], EXACT['y'], EXACT['rate'])
    assert motion.max_frame_shift == EXACT_MAX
    assert motion.total_travel == EXACT_TOTAL
    return motion


@pytest.mark.parametrize('rule', ALL_RULES)
def test_movie_exactly_at_both_limits_is_accepted_by_every_rule(
        exact_motion, rule):
    assert decide(exact_motion, rule, EXACT_MAX, EXACT_TOTAL) == Decision(True)


def test_movie_exactly_at_frame_limit_is_accepted(exact_motion):
    assert decide(exact_motion, REJ_FRAME, 6.0, 0.0).accepted


def test_movie_just_over_frame_limit_is_rejected_by_frame(exact_motion):
    assert not decide(exact_motion, REJ_FRAME, 5.9, 1e9).accepted


def test_movie_exactly_at_movie_limit_is_accepted(exact_motion):
    assert decide(exact_motion, REJ_MOVIE, 0.0, 10.0).accepted


def test_movie_just_over_movie_limit_is_rejected_by_movie(exact_motion):
    assert not decide(exact_motion, REJ_MOVIE, 1e9, 9.9).accepted


def test_by_frame_rule_ignores_the_movie_limit(exact_motion):
    assert decide(exact_motion, REJ_FRAME, 6.0, 0.0).accepted
    assert not decide(exact_motion, REJ_FRAME, 5.0, 1e9).accepted


def test_by_movie_rule_ignores_the_frame_limit(exact_motion):
    assert decide(exact_motion, REJ_MOVIE, 0.0, 10.0).accepted
    assert not decide(exact_motion, REJ_MOVIE, 1e9, 9.0).accepted


@pytest.mark.parametrize('frame_limit, movie_limit, accepted', [
    (6.0, 10.0, True),    # at both limits
    (5.0, 10.0, True),    # only frame over
    (6.0, 9.0, True),     # only movie over
    (5.0, 9.0, False),    # both over
])
def test_and_rule_rejects_only_when_both_limits_are_exceeded(
        exact_motion, frame_limit, movie_limit, accepted):
    assert decide(exact_motion, REJ_AND, frame_limit,
                  movie_limit).accepted is accepted


@pytest.mark.parametrize('frame_limit, movie_limit, accepted', [
    (6.0, 10.0, True),    # at both limits
    (5.0, 10.0, False),   # only frame over
    (6.0, 9.0, False),    # only movie over
    (5.0, 9.0, False),    # both over
])
def test_or_rule_rejects_when_either_limit_is_exceeded(
        exact_motion, frame_limit, movie_limit, accepted):
    assert decide(exact_motion, REJ_OR, frame_limit,
                  movie_limit).accepted is accepted


def test_exact_threshold_with_diagonal_steps():
    # 3-4-5 steps: max 5 px * 2 A/px = 10 A, total 2 * 10 A = 20 A exactly.
    motion = measure_motion([0, 3, 6], [0, 4, 8], 2.0)
    assert (motion.max_frame_shift, motion.total_travel) == (10.0, 20.0)
    for r in ALL_RULES:
        assert decide(motion, r, 10.0, 20.0).accepted
    assert not decide(motion, REJ_OR, 9.5, 20.0).accepted
    assert not decide(motion, REJ_OR, 10.0, 19.5).accepted


# --------------------------------------------------------------------------
# Rules: reason text
# --------------------------------------------------------------------------

def test_accepted_decision_has_empty_reason(exact_motion):
    assert decide(exact_motion, REJ_OR, 100.0, 100.0).reason == ''


def numbers_in(text):
    """All numbers written in a text, as floats."""
    return [float(n) for n in re.findall(r'-?\d+(?:\.\d+)?(?:e[-+]?\d+)?',
                                         text)]


def test_reason_by_frame_names_max_frame_shift_value_and_threshold(
        exact_motion):
    reason = decide(exact_motion, REJ_FRAME, 5.0, 1.0).reason
    assert 'max frame shift' in reason
    assert 'total travel' not in reason  # the movie limit is not used
    assert sorted(numbers_in(reason)) == [5.0, 6.0]  # limit and value
    assert reason.endswith('(rule by frame)')


def test_reason_by_movie_names_total_travel_value_and_threshold(
        exact_motion):
    reason = decide(exact_motion, REJ_MOVIE, 1.0, 7.5).reason
    assert 'total travel' in reason
    assert 'max frame shift' not in reason  # the frame limit is not used
    assert sorted(numbers_in(reason)) == [7.5, 10.0]
    assert reason.endswith('(rule by whole movie)')


def test_reason_by_frame_and_movie_names_both_criteria(exact_motion):
    reason = decide(exact_motion, REJ_AND, 5.0, 7.5).reason
    assert 'max frame shift' in reason
    assert 'total travel' in reason
    assert sorted(numbers_in(reason)) == [5.0, 6.0, 7.5, 10.0]
    assert reason.endswith('(rule by frame and movie)')


def test_reason_by_frame_or_movie_names_only_the_exceeded_criterion(
        exact_motion):
    only_movie = decide(exact_motion, REJ_OR, 6.0, 7.5).reason
    assert 'total travel' in only_movie
    assert 'max frame shift' not in only_movie
    assert sorted(numbers_in(only_movie)) == [7.5, 10.0]
    assert only_movie.endswith('(rule by frame or movie)')
    only_frame = decide(exact_motion, REJ_OR, 5.0, 10.0).reason
    assert 'max frame shift' in only_frame
    assert 'total travel' not in only_frame
    assert sorted(numbers_in(only_frame)) == [5.0, 6.0]
    both = decide(exact_motion, REJ_OR, 5.0, 7.5).reason
    assert 'max frame shift' in both and 'total travel' in both
    assert sorted(numbers_in(both)) == [5.0, 6.0, 7.5, 10.0]


def test_decision_criterion_names_what_discarded_the_movie(exact_motion):
    assert decide(exact_motion, REJ_OR, 100.0, 100.0).criterion == ''
    assert decide(exact_motion, REJ_OR, 5.0, 100.0).criterion == \
        'max frame shift'
    assert decide(exact_motion, REJ_OR, 100.0, 7.5).criterion == \
        'total travel'
    both = decide(exact_motion, REJ_AND, 5.0, 7.5).criterion
    assert 'max frame shift' in both and 'total travel' in both
    invalid = decide(measure_motion([], [], 1.0), REJ_OR, 5.0, 7.5)
    assert invalid.criterion == MOTION_INVALID


@pytest.mark.parametrize('rule', ALL_RULES)
def test_invalid_motion_is_discarded_by_every_rule_whatever_the_limits(rule):
    motion = measure_motion([0.0, 1.0], [0.0], 1.0)
    decision = decide(motion, rule, 1e300, 1e300)
    assert not decision.accepted
    assert decision.reason == 'invalid alignment: x has 2 shifts but y has 1'


# --------------------------------------------------------------------------
# Rules: helpers, arrays, unknown rule
# --------------------------------------------------------------------------

def test_rule_names_follow_rule_constants():
    assert (REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR) == (0, 1, 2, 3)
    assert RULE_NAMES[REJ_FRAME] == 'by frame'
    assert RULE_NAMES[REJ_MOVIE] == 'by whole movie'
    assert RULE_NAMES[REJ_AND] == 'by frame and movie'
    assert RULE_NAMES[REJ_OR] == 'by frame or movie'


def test_which_limits_each_rule_uses():
    assert [uses_frame_limit(r) for r in ALL_RULES] == [True, False, True,
                                                         True]
    assert [uses_movie_limit(r) for r in ALL_RULES] == [False, True, True,
                                                         True]


@pytest.mark.parametrize('bad_rule', [4, -1, 99, 'by frame', None, 1.5])
def test_unknown_rule_raises_value_error(bad_rule):
    with pytest.raises(ValueError, match='unknown rejection rule'):
        rejected_by_rule(1.0, 1.0, bad_rule, 10.0, 10.0)


def test_decide_with_unknown_rule_on_a_valid_movie_raises_value_error(
        exact_motion):
    with pytest.raises(ValueError):
        decide(exact_motion, 7, 10.0, 10.0)


@pytest.mark.parametrize('rule', ALL_RULES)
def test_rejected_by_rule_on_arrays_equals_scalar_answers(rule):
    rng = np.random.default_rng(rule)
    frame = rng.uniform(0, 20, size=50)
    movie = rng.uniform(0, 60, size=50)
    # include values exactly at the limits
    frame[:3] = [10.0, 10.0, 0.0]
    movie[:3] = [30.0, 31.0, 30.0]
    vector = rejected_by_rule(frame, movie, rule, 10.0, 30.0)
    scalars = [bool(rejected_by_rule(f, m, rule, 10.0, 30.0))
               for f, m in zip(frame, movie)]
    assert isinstance(vector, np.ndarray)
    assert vector.shape == (50,)
    assert vector.dtype == bool
    assert vector.tolist() == scalars
    assert any(scalars) and not all(scalars)  # the test is not vacuous


@given(frame=hnp.arrays(np.float64, st.integers(0, 20),
                        elements=st.floats(0, 1e4)),
       data=st.data(), rule=rule, frame_limit=limit, movie_limit=limit)
@FAST
def test_rejected_by_rule_is_elementwise_for_any_arrays(
        frame, data, rule, frame_limit, movie_limit):
    movie = data.draw(hnp.arrays(np.float64, frame.shape,
                                 elements=st.floats(0, 1e5)))
    vector = rejected_by_rule(frame, movie, rule, frame_limit, movie_limit)
    assert vector.shape == frame.shape
    for i in range(len(frame)):
        assert bool(vector[i]) == bool(rejected_by_rule(
            frame[i], movie[i], rule, frame_limit, movie_limit))


@given(motion=valid_motions(), rule=rule, frame_limit=limit,
       movie_limit=limit)
@FAST
def test_decide_agrees_with_rejected_by_rule(motion, rule, frame_limit,
                                             movie_limit):
    decision = decide(motion, rule, frame_limit, movie_limit)
    assert decision.accepted is not bool(rejected_by_rule(
        motion.max_frame_shift, motion.total_travel, rule, frame_limit,
        movie_limit))
    if decision.accepted:
        assert decision.reason == ''
    else:
        assert decision.reason.endswith('(rule %s)' % RULE_NAMES[rule])


# --------------------------------------------------------------------------
# Properties of the metrics
# --------------------------------------------------------------------------

@given(traj=trajectories(), rate=reasonable_rate)
@FAST
def test_total_travel_is_at_least_max_frame_shift_and_both_non_negative(
        traj, rate):
    motion = measure_motion(*traj, rate)
    assert motion.is_valid
    assert motion.max_frame_shift >= 0.0
    assert motion.total_travel >= 0.0
    assert motion.total_travel >= motion.max_frame_shift


@given(traj=trajectories(), rate=reasonable_rate,
       factor=st.floats(min_value=1e-2, max_value=1e2))
@FAST
def test_metrics_scale_linearly_with_sampling_rate(traj, rate, factor):
    base = measure_motion(*traj, rate)
    scaled = measure_motion(*traj, rate * factor)
    assert scaled.quality == base.quality
    assert scaled.max_frame_shift == pytest.approx(
        base.max_frame_shift * factor, rel=1e-9, abs=1e-280)
    assert scaled.total_travel == pytest.approx(
        base.total_travel * factor, rel=1e-9, abs=1e-280)


@given(traj=trajectories(min_frames=2),
       rate=reasonable_rate,
       dx=st.floats(min_value=-1e3, max_value=1e3),
       dy=st.floats(min_value=-1e3, max_value=1e3))
@FAST
def test_metrics_do_not_depend_on_the_reference_frame(traj, rate, dx, dy):
    x, y = np.asarray(traj[0]), np.asarray(traj[1])
    base = measure_motion(x, y, rate)
    moved = measure_motion(x + dx, y + dy, rate)
    assert moved.is_valid and base.is_valid
    # x + dx rounds at the scale of |x| + |dx| <= 1.1e4 px: ~1e-12 px per
    # shift; allow 1e-9 A per frame.
    noise = 1e-9 * rate * len(x)
    assert_same_metrics(moved, base, rel=1e-9, abs_=noise)


@given(traj=trajectories(min_frames=2), rate=reasonable_rate,
       frame=st.integers(min_value=0, max_value=39))
@FAST
def test_choosing_any_frame_as_zero_reference_changes_nothing(traj, rate,
                                                              frame):
    x, y = np.asarray(traj[0]), np.asarray(traj[1])
    ref = frame % len(x)
    base = measure_motion(x, y, rate)
    rereferenced = measure_motion(x - x[ref], y - y[ref], rate)
    assert_same_metrics(rereferenced, base, rel=1e-9,
                        abs_=1e-9 * rate * len(x))


@given(traj=trajectories(min_frames=2), rate=reasonable_rate)
@FAST
def test_reversing_the_movie_does_not_change_the_metrics(traj, rate):
    x, y = traj
    base = measure_motion(x, y, rate)
    backwards = measure_motion(x[::-1], y[::-1], rate)
    assert_same_metrics(backwards, base, rel=1e-9, abs_=1e-300)


# --------------------------------------------------------------------------
# Properties of the rules
# --------------------------------------------------------------------------

@given(motion=valid_motions(), rule=rule, frame_limit=limit,
       movie_limit=limit, extra_frame=limit, extra_movie=limit)
@FAST
def test_each_rule_is_monotone_in_its_thresholds(motion, rule, frame_limit,
                                                 movie_limit, extra_frame,
                                                 extra_movie):
    if decide(motion, rule, frame_limit, movie_limit).accepted:
        assert decide(motion, rule, frame_limit + extra_frame,
                      movie_limit).accepted
        assert decide(motion, rule, frame_limit,
                      movie_limit + extra_movie).accepted
        assert decide(motion, rule, frame_limit + extra_frame,
                      movie_limit + extra_movie).accepted
    else:
        # and conversely: rejected at L stays rejected at any lower limit
        assert not decide(motion, rule, max(frame_limit - extra_frame, 0.0),
                          max(movie_limit - extra_movie, 0.0)).accepted


@given(motion=valid_motions(), rule=rule)
@FAST
def test_each_rule_accepts_a_movie_at_its_own_metrics_as_limits(motion,
                                                                rule):
    assert decide(motion, rule, motion.max_frame_shift,
                  motion.total_travel).accepted


@given(motion=valid_motions(), frame_limit=limit, movie_limit=limit)
@FAST
def test_discarded_sets_are_nested_and_within_frame_or_movie_within_or(
        motion, frame_limit, movie_limit):
    rejected = {r: not decide(motion, r, frame_limit, movie_limit).accepted
                for r in ALL_RULES}
    # AND <= FRAME <= OR and AND <= MOVIE <= OR (as implications)
    assert rejected[REJ_AND] <= rejected[REJ_FRAME] <= rejected[REJ_OR]
    assert rejected[REJ_AND] <= rejected[REJ_MOVIE] <= rejected[REJ_OR]
    # and AND / OR are exactly the conjunction / disjunction
    assert rejected[REJ_AND] == (rejected[REJ_FRAME] and rejected[REJ_MOVIE])
    assert rejected[REJ_OR] == (rejected[REJ_FRAME] or rejected[REJ_MOVIE])


@given(frame=hnp.arrays(np.float64, 60, elements=st.floats(0, 100)),
       movie=hnp.arrays(np.float64, 60, elements=st.floats(0, 300)),
       frame_limit=st.floats(0, 100), movie_limit=st.floats(0, 300))
@FAST
def test_discarded_subsets_hold_over_a_whole_set_of_movies(
        frame, movie, frame_limit, movie_limit):
    by = {r: rejected_by_rule(frame, movie, r, frame_limit, movie_limit)
          for r in ALL_RULES}
    assert np.all(by[REJ_AND] <= by[REJ_FRAME])
    assert np.all(by[REJ_FRAME] <= by[REJ_OR])
    assert np.all(by[REJ_AND] <= by[REJ_MOVIE])
    assert np.all(by[REJ_MOVIE] <= by[REJ_OR])
    assert by[REJ_AND].sum() <= by[REJ_OR].sum()


# --------------------------------------------------------------------------
# Fuzz: never raises on arbitrary input
# --------------------------------------------------------------------------

def check_motion_and_decisions(motion, limits=(10.0, 50.0)):
    assert isinstance(motion, Motion)
    assert motion.quality in (MOTION_OK, MOTION_ABSENT, MOTION_INVALID)
    assert isinstance(motion.n_frames, int)
    if motion.is_valid:
        assert math.isfinite(motion.max_frame_shift)
        assert math.isfinite(motion.total_travel)
        assert 0.0 <= motion.max_frame_shift <= motion.total_travel
        if motion.quality == MOTION_ABSENT:
            assert motion.max_frame_shift == motion.total_travel == 0.0
    else:
        assert motion.problem  # says what is wrong
        assert math.isnan(motion.max_frame_shift)
        assert math.isnan(motion.total_travel)
    for r in ALL_RULES:
        decision = decide(motion, r, *limits)
        assert isinstance(decision, Decision)
        assert isinstance(decision.accepted, bool)
        if not motion.is_valid:
            assert not decision.accepted
            assert decision.reason.startswith('invalid alignment')
        elif decision.accepted:
            assert decision.reason == ''
        else:
            assert decision.reason and not decision.reason.startswith(
                'invalid alignment')


@given(x=any_shifts, y=any_shifts, rate=fuzz_rate)
@FUZZ
def test_fuzz_measure_motion_never_raises_and_decide_is_consistent(x, y,
                                                                   rate):
    check_motion_and_decisions(measure_motion(x, y, rate))


@given(data=st.data(), n=st.integers(min_value=0, max_value=30),
       rate=fuzz_rate, elements=st.sampled_from([any_float, finite_float]))
@FUZZ
def test_fuzz_same_length_arbitrary_floats(data, n, rate, elements):
    # Equal lengths reach the deeper checks (NaN, overflow, zero shifts).
    x = data.draw(st.lists(elements, min_size=n, max_size=n))
    y = data.draw(st.lists(elements, min_size=n, max_size=n))
    motion = measure_motion(x, y, rate)
    check_motion_and_decisions(motion)
    finite = all(math.isfinite(v) for v in x + y)
    if not finite or n == 0:
        assert not motion.is_valid


@given(x=st.lists(st.floats(min_value=-1e308, max_value=1e308), min_size=2,
                  max_size=10),
       rate=st.floats(min_value=1e-300, max_value=1e300))
@FUZZ
def test_fuzz_huge_finite_values_are_either_finite_metrics_or_invalid(x,
                                                                      rate):
    motion = measure_motion(x, [0.0] * len(x), rate)
    check_motion_and_decisions(motion)
    if not motion.is_valid:
        assert motion.problem == 'shifts too large to measure'


# --------------------------------------------------------------------------
# Frame ranges: they number the shifts, they never invalidate a movie
# --------------------------------------------------------------------------

def test_frame_range_that_matches_the_shifts_numbers_them():
    result = measure_motion([0, 1, 2], [0, 0, 0], 1.0, (5, 7))
    assert result.quality == MOTION_OK
    assert (result.layout.kind, result.layout.first_frame) == (LAYOUT_FRAMES, 5)
    assert result.layout.frames_unknown == ''


def test_frame_range_that_disagrees_with_the_shifts_is_measured_from_the_shifts():
    result = measure_motion([0, 1, 3], [0, 0, 0], 1.0, (1, 40))
    assert result.quality == MOTION_OK
    assert (result.max_frame_shift, result.total_travel) == (2.0, 3.0)
    assert result.layout.kind == LAYOUT_MISMATCH
    assert result.layout.first_frame is None
    assert result.layout.frames_unknown == \
        'aligned frames 1-40 are 40 frames but there are 3 shifts'
    assert decide(result, REJ_OR, 10.0, 45.0) == Decision(True)


def test_zero_shifts_of_an_aligner_that_saved_aligned_movies_are_no_motion_information():
    # MotionCor saving aligned movies: 40 zeros, frames 3-40 aligned
    result = measure_motion(np.zeros(40), np.zeros(40), 1.0, (3, 40))
    assert (result.quality, result.problem) == (MOTION_ABSENT, 'all shifts are zero')
    assert result.layout.kind == LAYOUT_NO_TRAJECTORY
    assert decide(result, REJ_OR, 10.0, 45.0) == Decision(True)


@pytest.mark.parametrize('frame_range', [(-1, -1), (0, 0), (1, 0), None,
                                         ('a', None), (1,), 'abc'])
def test_frame_range_unset_or_unreadable_leaves_the_shifts_unnumbered(frame_range):
    result = measure_motion([0, 1, 2], [0, 0, 0], 1.0, frame_range)
    assert result.quality == MOTION_OK
    assert result.layout.kind == LAYOUT_NO_RANGE
    assert result.layout.first_frame is None


def test_invalid_shifts_have_no_layout():
    assert measure_motion([0, np.nan], [0, 0], 1.0, (1, 2)).layout is None


frame_ranges = st.one_of(
    st.none(), st.tuples(st.integers(-5, 60), st.integers(-5, 60)),
    st.sampled_from([('a', None), (1,), (1.5, 3), (np.nan, 2)]))


@given(traj=trajectories(), rate=reasonable_rate, frame_range=frame_ranges,
       eer=st.booleans())
@FAST
def test_no_frame_range_changes_the_metrics_or_makes_a_measurable_movie_invalid(
        traj, rate, frame_range, eer):
    plain = measure_motion(*traj, rate)
    numbered = measure_motion(*traj, rate, frame_range, eer=eer)
    assert numbered.is_valid
    assert (numbered.quality, numbered.problem) == (plain.quality, plain.problem)
    assert_same_metrics(numbered, plain, rel=0.0)
    numbers = aligned_range(frame_range)
    matches = numbers is not None and numbers[1] - numbers[0] + 1 == len(traj[0])
    assert numbered.layout.first_frame == (numbers[0] if matches else None)


@given(x=any_shifts, y=any_shifts, rate=fuzz_rate, frame_range=frame_ranges)
@FUZZ
def test_fuzz_with_a_frame_range_never_raises(x, y, rate, frame_range):
    check_motion_and_decisions(measure_motion(x, y, rate, frame_range))
