"""Early and late motion, first-third mean step and the dose limits
(xmipp3.maxshift.motion, pure numpy), and the simulator's motion spread.

Hand-computed cases use axis-aligned integer steps, so every sum is exact.
Frame numbers are those of the aligned range: frame 1 is its first frame,
step d_f joins frames f - 1 and f.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xmipp3.maxshift.motion import (CRITERION_EARLY, CRITERION_LATE,
                           DEFAULT_CUTOFF_DOSE, DOSE_ABSENT, MOTION_INVALID,
                           Decision, DoseMotion,
                           decide_dose_limits, early_frame_limit,
                           first_third_frames, measure_dose_motion,
                           measure_motion)
from xmipp3.maxshift.simulation import random_walk_trajectories

FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# Steps d_2 .. d_5 = 1, 2, 3, 4 px along x (total 10 px).
X = [0.0, 1.0, 3.0, 6.0, 10.0]
Y = [0.0] * 5


def dose_motion(rate=1.0, dose=1.0, **kwargs):
    return measure_dose_motion(X, Y, rate, dose, **kwargs)


# --------------------------------------------------------------------------
# Early and late motion: hand-computed cases
# --------------------------------------------------------------------------

def test_default_cutoff_is_relions_4_electrons_per_square_angstrom():
    assert DEFAULT_CUTOFF_DOSE == 4.0


def test_early_is_steps_up_to_the_cutoff_frame_and_late_the_rest():
    # 1 e/A2 per frame, cutoff 4: c = 4, early = d_2 + d_3 + d_4 = 6.
    result = dose_motion()
    assert result == DoseMotion(6.0, 4.0, 1.0, True, '')


def test_metrics_are_in_angstrom_scaled_by_sampling_rate():
    result = dose_motion(rate=0.5)
    assert (result.early, result.late) == (3.0, 2.0)
    assert result.first_third_mean_step == 0.5


def test_early_frame_limit_is_relions_c():
    assert early_frame_limit(1.277) == pytest.approx(4 / 1.277)
    assert early_frame_limit(1.0, 0.5, 3, 6.0) == pytest.approx(3.5)


def test_cutoff_between_frames_counts_only_whole_frames():
    # c = 2.5: only d_2 is early.
    assert (dose_motion(cutoff_dose=2.5).early,
            dose_motion(cutoff_dose=2.5).late) == (1.0, 9.0)


def test_first_frame_after_1_adds_the_skipped_frames_dose():
    # Frames 1 of the movie were not aligned: pre-exposure 1, c = 3.
    result = dose_motion(first_frame=2)
    assert (result.early, result.late) == (3.0, 7.0)


def test_initial_dose_is_pre_exposure():
    # pre-exposure 1.5, c = 2.5: d_2 only.
    result = dose_motion(initial_dose=1.5)
    assert (result.early, result.late) == (1.0, 9.0)


def test_initial_dose_and_first_frame_add_up():
    # pre-exposure 0.5 + 2 * 0.5 = 1.5 e/A2 at 0.5 e/A2 per frame: c = 5.
    result = measure_dose_motion(X, Y, 1.0, 0.5, initial_dose=0.5,
                                 first_frame=3)
    assert (result.early, result.late) == (10.0, 0.0)


@pytest.mark.parametrize('kwargs', [dict(cutoff_dose=1.0),
                                    dict(cutoff_dose=1.9999),
                                    dict(cutoff_dose=0.0),
                                    dict(cutoff_dose=-3.0),
                                    dict(initial_dose=10.0),
                                    dict(first_frame=8)])
def test_cutoff_before_the_first_step_makes_all_motion_late(kwargs):
    result = dose_motion(**kwargs)
    assert result.available
    assert (result.early, result.late) == (0.0, 10.0)


@pytest.mark.parametrize('cutoff', [5.0, 5.5, 100.0, 1e9])
def test_cutoff_at_or_after_the_last_frame_makes_all_motion_early(cutoff):
    assert (dose_motion(cutoff_dose=cutoff).early,
            dose_motion(cutoff_dose=cutoff).late) == (10.0, 0.0)


def test_frame_exactly_at_the_cutoff_is_early_despite_rounding():
    # 0.7 / 0.1 = 6.999999999999999 in floating point; frame 7 ends at
    # exactly 0.7 e/A2, so d_2 .. d_7 (6 unit steps) are early.
    assert 0.7 / 0.1 < 7
    x = list(range(10))
    result = measure_dose_motion(x, [0] * 10, 1.0, 0.1, cutoff_dose=0.7)
    assert (result.early, result.late) == (6.0, 3.0)


def test_relion_tutorial_dose_puts_two_steps_early():
    # 1.277 e/A2 per frame: c = 3.13, early = d_2 + d_3 (3 px).
    assert dose_motion(dose=1.277).early == 3.0


def test_diagonal_steps_are_euclidean():
    result = measure_dose_motion([0, 3, 6], [0, 4, 8], 2.0, 1.0,
                                 cutoff_dose=2.0)
    assert (result.early, result.late) == (10.0, 10.0)


def test_cutoff_dose_that_is_not_finite_raises():
    for cutoff in (np.nan, np.inf, None, 'abc'):
        with pytest.raises(ValueError, match='cutoff dose'):
            dose_motion(cutoff_dose=cutoff)


# --------------------------------------------------------------------------
# First-third mean step
# --------------------------------------------------------------------------

@pytest.mark.parametrize('n, m', [(1, 1), (2, 2), (3, 2), (4, 2), (6, 2),
                                  (7, 3), (9, 3), (10, 4), (24, 8),
                                  (40, 14)])
def test_first_third_is_ceil_n_over_3_frames_but_at_least_2(n, m):
    assert first_third_frames(n) == m


def test_first_third_mean_step_of_24_frames_averages_d2_to_d8():
    x = np.cumsum(np.arange(24.0))   # d_f = f - 1
    result = measure_dose_motion(x, np.zeros(24), 1.0, 1.0)
    assert result.first_third_mean_step == pytest.approx(4.0)  # mean(1..7)


@pytest.mark.parametrize('n', [2, 3, 4])
def test_first_third_of_short_movies_is_the_first_step(n):
    x = [0.0] + [5.0 + f for f in range(n - 1)]  # d_2 = 5, then 1s
    assert measure_dose_motion(x, [0.0] * n, 1.0, 1.0) \
        .first_third_mean_step == 5.0


def test_first_third_mean_step_needs_no_dose():
    result = dose_motion(dose=None)
    assert result.first_third_mean_step == 1.0
    assert not result.available


# --------------------------------------------------------------------------
# Dose unavailable, invalid and motionless movies
# --------------------------------------------------------------------------

@pytest.mark.parametrize('dose', [None, np.nan, 0, 0.0, -1.0, np.inf, 'abc',
                                  [1.0]])
def test_without_dose_per_frame_early_and_late_are_unavailable(dose):
    result = dose_motion(dose=dose)
    assert not result.available
    assert math.isnan(result.early) and math.isnan(result.late)
    assert result.problem == ('no dose information: dose per frame %s is '
                              'not a positive number' % (dose,))
    assert result.problem.startswith(DOSE_ABSENT)


@pytest.mark.parametrize('initial', [None, np.nan, -0.5, np.inf, 'x'])
def test_bad_initial_dose_makes_early_and_late_unavailable(initial):
    result = dose_motion(initial_dose=initial)
    assert not result.available
    assert math.isnan(result.early)
    assert 'initial dose' in result.problem
    assert result.problem.startswith(DOSE_ABSENT)


@pytest.mark.parametrize('first', [0, -1, None, 1.5, 'a', np.nan])
def test_unknown_first_aligned_frame_makes_early_and_late_unavailable(first):
    result = dose_motion(first_frame=first)
    assert not result.available
    assert math.isnan(result.late)
    assert 'first aligned frame' in result.problem


def test_first_frame_given_as_integral_float_is_accepted():
    assert dose_motion(first_frame=2.0) == dose_motion(first_frame=2)


@pytest.mark.parametrize('x, y, rate', [([0.0, np.nan], [0.0, 0.0], 1.0),
                                        ([0.0, 1.0], [0.0], 1.0),
                                        ([], [], 1.0),
                                        ([0.0, 1.0], [0.0, 0.0], 0.0)])
def test_invalid_alignment_gives_nan_for_everything(x, y, rate):
    result = measure_dose_motion(x, y, rate, 1.0)
    assert not result.available
    assert all(math.isnan(v) for v in (result.early, result.late,
                                       result.first_third_mean_step))
    assert result.problem == '%s: %s' % (
        MOTION_INVALID, measure_motion(x, y, rate).problem)


def test_invalid_alignment_wins_over_missing_dose():
    result = measure_dose_motion([0.0, np.inf], [0.0, 0.0], 1.0, None)
    assert result.problem.startswith(MOTION_INVALID)
    assert math.isnan(result.first_third_mean_step)


@pytest.mark.parametrize('x, y', [([2.0], [1.0]), ([0.0] * 6, [0.0] * 6)])
def test_movie_without_motion_information_measures_zero(x, y):
    # as measure_motion, which flags it as no motion information
    assert measure_dose_motion(x, y, 1.0, 1.0) == DoseMotion(0.0, 0.0, 0.0,
                                                             True, '')


def test_metrics_are_python_floats():
    result = measure_dose_motion(np.array(X), np.array(Y), np.float32(1.0),
                                 np.float64(1.0))
    assert all(type(v) is float for v in (result.early, result.late,
                                          result.first_third_mean_step))


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

shift = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False,
                  allow_subnormal=False)


@st.composite
def movies(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    x = draw(st.lists(shift, min_size=n, max_size=n))
    y = draw(st.lists(shift, min_size=n, max_size=n))
    rate = draw(st.floats(min_value=0.1, max_value=10))
    return x, y, rate


doses = dict(dose=st.floats(min_value=0.05, max_value=10),
             initial=st.floats(min_value=0, max_value=50),
             first=st.integers(min_value=1, max_value=10))


@given(movie=movies(), cutoff=st.floats(min_value=-10, max_value=200),
       **doses)
@FAST
def test_early_plus_late_is_total_travel_when_dose_is_known(
        movie, dose, initial, first, cutoff):
    x, y, rate = movie
    result = measure_dose_motion(x, y, rate, dose, initial, first, cutoff)
    total = measure_motion(x, y, rate).total_travel
    assert result.available and result.problem == ''
    assert result.early >= 0 and result.late >= 0
    assert result.early + result.late == pytest.approx(total, rel=1e-9,
                                                       abs=1e-9)


@given(movie=movies(), cutoffs=st.lists(
    st.floats(min_value=-10, max_value=200), min_size=2, max_size=6),
    **doses)
@FAST
def test_early_motion_never_decreases_with_the_cutoff(movie, cutoffs, dose,
                                                      initial, first):
    x, y, rate = movie
    early = [measure_dose_motion(x, y, rate, dose, initial, first, c).early
             for c in sorted(cutoffs)]
    assert early == sorted(early)  # exactly, not within a tolerance


@given(movie=movies(), **doses)
@FAST
def test_first_third_mean_step_is_between_zero_and_max_frame_shift(
        movie, dose, initial, first):
    x, y, rate = movie
    result = measure_dose_motion(x, y, rate, dose, initial, first)
    motion = measure_motion(x, y, rate)
    assert 0 <= result.first_third_mean_step
    assert result.first_third_mean_step <= motion.max_frame_shift * (1 + 1e-12)


junk = st.one_of(st.none(), st.floats(), st.integers(-10**6, 10**6),
                 st.text(max_size=3), st.just([1.0]))


@given(movie=movies(), dose=junk, initial=junk, first=junk)
@FAST
def test_any_dose_values_give_a_result_or_an_explicit_problem(
        movie, dose, initial, first):
    x, y, rate = movie
    result = measure_dose_motion(x, y, rate, dose, initial, first)
    assert isinstance(result, DoseMotion)
    assert math.isfinite(result.first_third_mean_step)
    if result.available:
        assert math.isfinite(result.early) and math.isfinite(result.late)
    else:
        assert result.problem.startswith(DOSE_ABSENT)
        assert math.isnan(result.early) and math.isnan(result.late)


# --------------------------------------------------------------------------
# Early and late motion limits
# --------------------------------------------------------------------------

def numbers_in(text):
    return sorted(float(n) for n in re.findall(r'\d+(?:\.\d+)?', text))


def test_limits_are_off_by_default():
    assert decide_dose_limits(dose_motion()) == Decision(True)


def test_dose_decision_is_a_decision_with_a_note():
    decision = decide_dose_limits(dose_motion(), max_early=1.0)
    assert isinstance(decision, Decision)
    assert decision.criterion == CRITERION_EARLY


def test_early_motion_over_its_limit_discards_with_decide_style_reason():
    decision = decide_dose_limits(dose_motion(), max_early=5.0)
    assert not decision.accepted
    assert decision.reason == 'early motion: 6.00 Å > 5 Å'


def test_late_motion_over_its_limit_discards():
    decision = decide_dose_limits(dose_motion(), max_early=6.0, max_late=3.5)
    assert decision.reason == 'late motion: 4.00 Å > 3.5 Å'
    assert decision.criterion == CRITERION_LATE


def test_both_limits_exceeded_name_both_criteria():
    decision = decide_dose_limits(dose_motion(), max_early=5, max_late=3)
    assert decision.reason == ('early motion and late motion: '
                               '6.00 Å > 5 Å, 4.00 Å > 3 Å')
    assert numbers_in(decision.reason) == [3.0, 4.0, 5.0, 6.0]


def test_limits_are_inclusive():
    assert decide_dose_limits(dose_motion(), max_early=6.0,
                              max_late=4.0).accepted


def test_unavailable_early_late_motion_is_not_discarded_but_noted():
    unavailable = dose_motion(dose=None)
    decision = decide_dose_limits(unavailable, max_early=0.0, max_late=0.0)
    assert decision.accepted and decision.reason == ''
    assert decision.note == ('early/late motion not checked: no dose '
                             'information: dose per frame None is not a '
                             'positive number')


def test_unavailable_motion_without_limits_has_no_note():
    assert decide_dose_limits(dose_motion(dose=None)).note == ''


def test_invalid_alignment_is_left_to_decide():
    result = measure_dose_motion([0.0, np.nan], [0.0, 0.0], 1.0, 1.0)
    decision = decide_dose_limits(result, max_early=1.0)
    assert decision.accepted
    assert decision.note.startswith('early/late motion not checked: '
                                    'invalid alignment')


@pytest.mark.parametrize('bad', [-1.0, np.nan, np.inf, 'abc'])
def test_limit_that_is_not_a_number_at_least_zero_raises(bad):
    with pytest.raises(ValueError):
        decide_dose_limits(dose_motion(), max_early=bad)
    with pytest.raises(ValueError):
        decide_dose_limits(dose_motion(), max_late=bad)


@given(early=st.floats(0, 100), late=st.floats(0, 100),
       max_early=st.one_of(st.none(), st.floats(0, 100)),
       max_late=st.one_of(st.none(), st.floats(0, 100)))
@FAST
def test_discarded_exactly_when_a_set_limit_is_exceeded(early, late,
                                                        max_early, max_late):
    decision = decide_dose_limits(DoseMotion(early, late, 0.0, True),
                                  max_early, max_late)
    over = ((max_early is not None and early > max_early)
            or (max_late is not None and late > max_late))
    assert decision.accepted is (not over)
    assert (decision.reason == '') is (not over)


# --------------------------------------------------------------------------
# Simulator: motion spread
# --------------------------------------------------------------------------

def test_default_random_walks_are_unchanged():
    # Fingerprint of the generator before motion_spread existed.
    walks = random_walk_trajectories(30, seed=3)
    fingerprint = sum(sum(w['shift_x_px']) + 2 * sum(w['shift_y_px'])
                      for w in walks)
    assert fingerprint == pytest.approx(-16623.957547003552, rel=1e-12)
    assert ''.join((w['outlier'] or '-')[0] for w in walks) == \
        '--d--d----------------d-------'
    assert random_walk_trajectories(30, seed=3, motion_spread=0.0) == walks


def test_motion_spread_varies_normal_movies_and_keeps_the_outliers():
    plain = random_walk_trajectories(400, seed=5)
    spread = random_walk_trajectories(400, seed=5, motion_spread=0.2)
    assert [w['outlier'] for w in spread] == [w['outlier'] for w in plain]

    def log_sd(walks):
        travel = [measure_motion(w['shift_x_px'], w['shift_y_px'],
                                 1.0).total_travel
                  for w in walks if not w['outlier']]
        return float(np.std(np.log(travel)))
    assert log_sd(plain) < 0.05
    assert 0.15 < log_sd(spread) < 0.25


def test_a_frame_range_that_disagrees_with_the_shifts_leaves_early_and_late_unavailable():
    measured = measure_motion(X, Y, 1.0, (1, 40))
    result = measure_dose_motion(X, Y, 1.0, 1.0, measured=measured)
    assert not result.available and math.isnan(result.early) and math.isnan(result.late)
    assert result.problem == ('frame numbers unknown: aligned frames 1-40 are 40 '
                              'frames but there are 5 shifts')
    assert result.first_third_mean_step == 1.0  # d_2: needs no frame numbers
    again = measure_dose_motion(X, Y, 1.0, 1.0, measured=measure_motion(X, Y, 1.0))
    assert again == measure_dose_motion(X, Y, 1.0, 1.0)


def test_a_frame_range_that_agrees_with_the_shifts_keeps_early_and_late():
    measured = measure_motion(X, Y, 1.0, (3, 7))
    result = measure_dose_motion(X, Y, 1.0, 1.0, first_frame=3, measured=measured)
    assert result == measure_dose_motion(X, Y, 1.0, 1.0, first_frame=3)
    assert result.available


def test_eer_fractions_leave_early_and_late_unavailable():
    # the shifts are per fraction, the dose per EER frame
    measured = measure_motion(X, Y, 1.0, (1, 5), eer=True)
    result = measure_dose_motion(X, Y, 1.0, 1.0, measured=measured)
    assert not result.available and math.isnan(result.early)
    assert result.problem == ('%s: EER fractions, whose dose the alignment does '
                              'not store' % DOSE_ABSENT)
    assert result.first_third_mean_step == 1.0
    note = decide_dose_limits(result, max_early=1.0).note
    assert note == 'early/late motion not checked: ' + result.problem
