"""Automatic thresholds (xmipp3.maxshift.auto_threshold, pure numpy).

Metrics are in A. A "normal" movie here has a max frame shift near 2 A and a
total travel near 25 A; the warm-up is shortened where the test allows.
"""
import json
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xmipp3.maxshift.auto_threshold as auto_threshold
from xmipp3.maxshift.auto_threshold import (CEILING_FACTOR, DEFAULT_K, DEFAULT_METRICS,
                                   DEFAULT_WARMUP, MIN_REFERENCE,
                                   AutoThresholds, motion_metrics,
                                   robust_threshold, simulated_session_scores)
from xmipp3.maxshift.motion import (CRITERION_EARLY, CRITERION_FRAME, CRITERION_MOVIE,
                           Decision, measure_dose_motion, measure_motion)

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
REASON = re.compile(r'^(max frame shift|total travel|max frame shift and '
                    r'total travel): \d+\.\d\d Å > \d+\.\d\d Å'
                    r'(, \d+\.\d\d Å > \d+\.\d\d Å)? \(automatic threshold\)$')


def metrics(frame, travel, early=None):
    values = {CRITERION_FRAME: frame, CRITERION_MOVIE: travel}
    if early is not None:
        values[CRITERION_EARLY] = early
    return values


def normal_movies(n, seed=0):
    rng = np.random.default_rng(seed)
    return [metrics(*values) for values in
            rng.lognormal(np.log([2.0, 25.0]), 0.2, size=(n, 2))]


def warmed_up(n=50, warmup=50, seed=0, **kwargs):
    auto = AutoThresholds(warmup=warmup, **kwargs)
    for index, values in enumerate(normal_movies(n, seed)):
        auto.add(index, values)
    assert not auto.warming_up
    return auto


# --------------------------------------------------------------------------
# robust_threshold
# --------------------------------------------------------------------------

def test_robust_threshold_is_median_plus_k_scaled_mad():
    # median 6, MAD 3, sigma 1.4826 * 3
    assert robust_threshold(range(1, 12), k=2) == pytest.approx(
        6 + 2 * 1.4826 * 3)


def test_robust_threshold_ignores_nan_and_needs_10_values():
    values = [np.nan] * 5 + list(range(1, 10))
    assert robust_threshold(values) is None
    assert robust_threshold(values + [10]) is not None
    assert MIN_REFERENCE == 10


def test_robust_threshold_has_a_sigma_floor():
    # identical values: MAD 0, sigma floored at 5 % of the median
    assert robust_threshold([20.0] * 30, k=6) == pytest.approx(20 + 6 * 1.0)
    assert robust_threshold([0.0] * 30, k=6) == pytest.approx(0.06)


def test_robust_threshold_resists_outliers():
    values = [10.0 + 0.1 * i for i in range(40)] + [1e6] * 10
    assert robust_threshold(values, k=6) < 30


# --------------------------------------------------------------------------
# Streaming: warm-up, decisions, reasons
# --------------------------------------------------------------------------

def test_defaults():
    auto = AutoThresholds()
    assert (auto.warmup, auto.k, auto.metrics) == (50, 6.0, DEFAULT_METRICS)
    assert (DEFAULT_WARMUP, DEFAULT_K) == (50, 6.0)
    assert DEFAULT_METRICS == ('max frame shift', 'total travel')


def test_warm_up_movies_are_pending_then_all_decided_at_once():
    auto = AutoThresholds(warmup=20)
    movies = normal_movies(20)
    for index, values in enumerate(movies[:19]):
        assert auto.add('m%d' % index, values) == []
        assert auto.thresholds() == {CRITERION_FRAME: None,
                                     CRITERION_MOVIE: None}
    assert auto.pending_keys == ['m%d' % i for i in range(19)]
    assert auto.describe().startswith('automatic thresholds: warm-up')
    decisions = auto.add('m19', movies[19])
    assert [key for key, _ in decisions] == ['m%d' % i for i in range(20)]
    assert all(decision.accepted for _, decision in decisions)
    assert not auto.warming_up and auto.pending_keys == []
    assert auto.thresholds() == pytest.approx(auto.warmup_thresholds,
                                              rel=1e-12)


def test_after_warm_up_each_movie_is_decided_when_added():
    auto = warmed_up()
    assert auto.add(99, metrics(2.0, 25.0)) == [(99, Decision(True))]
    assert 'accepted movies' in auto.describe()


def test_outlier_in_the_warm_up_is_discarded_with_reason():
    auto = AutoThresholds(warmup=30)
    movies = normal_movies(30)
    movies[7] = metrics(40.0, 90.0)  # a jump
    decisions = dict(sum((auto.add(i, m) for i, m in enumerate(movies)),
                         []))
    assert [i for i, d in decisions.items() if not d.accepted] == [7]
    reason = decisions[7].reason
    assert REASON.match(reason), reason
    assert reason.startswith('max frame shift and total travel: 40.00 Å > ')
    assert decisions[7].criterion == 'max frame shift and total travel (automatic)'


def test_outlier_after_warm_up_is_discarded_with_reason():
    auto = warmed_up()
    limit = auto.thresholds()[CRITERION_MOVIE]
    [(key, decision)] = auto.add('drift', metrics(2.0, 120.0))
    assert key == 'drift' and not decision.accepted
    assert decision.reason == 'total travel: 120.00 Å > %.2f Å ' \
        '(automatic threshold)' % limit


def test_threshold_is_inclusive():
    auto = warmed_up()
    limits = auto.thresholds()
    at = metrics(limits[CRITERION_FRAME], limits[CRITERION_MOVIE])
    assert auto.add('at', at)[0][1].accepted
    limits = auto.thresholds()
    above = metrics(limits[CRITERION_FRAME], limits[CRITERION_MOVIE] * 1.001)
    assert not auto.add('above', above)[0][1].accepted


def test_finish_warmup_judges_the_movies_of_a_short_input():
    auto = AutoThresholds(warmup=50)
    movies = normal_movies(20)
    movies[3] = metrics(2.0, 200.0)
    for index, values in enumerate(movies):
        assert auto.add(index, values) == []
    decisions = dict(auto.finish_warmup())
    assert sorted(decisions) == list(range(20))
    assert [i for i, d in decisions.items() if not d.accepted] == [3]
    assert auto.finish_warmup() == []
    assert auto.add(20, metrics(2.0, 25.0)) == [(20, Decision(True))]


def test_fewer_than_10_movies_cannot_be_judged_and_are_accepted():
    auto = AutoThresholds()
    for index in range(5):
        auto.add(index, metrics(2.0, 25.0 if index else 500.0))
    assert all(d.accepted for _, d in auto.finish_warmup())
    assert auto.thresholds()[CRITERION_MOVIE] is None
    assert 'not set' in auto.describe()
    # thresholds, and their ceilings, appear with the 10th accepted movie
    for index, values in enumerate(normal_movies(5), start=5):
        auto.add(index, values)
    assert auto.thresholds()[CRITERION_MOVIE] is not None
    assert auto.ceilings[CRITERION_MOVIE] is not None
    assert not auto.add('bad', metrics(2.0, 5000.0))[0][1].accepted


def test_nan_or_missing_metric_is_not_judged():
    auto = warmed_up()
    assert auto.add(1, metrics(np.nan, 25.0))[0][1].accepted
    assert auto.add(2, {CRITERION_MOVIE: 25.0})[0][1].accepted
    [(_, decision)] = auto.add(3, metrics(np.nan, 500.0))
    assert decision.criterion == CRITERION_MOVIE + ' (automatic)'


def test_invalid_and_motionless_movies_are_neither_judged_nor_learnt():
    auto = warmed_up()
    before = auto.to_dict()
    for motion in (measure_motion([0.0, np.nan], [0.0, 0.0], 1.0),
                   measure_motion([0.0] * 5, [0.0] * 5, 1.0)):
        values = motion_metrics(motion)
        assert all(math.isnan(v) for v in values.values())
        assert auto.add('x', values)[0][1].accepted  # decide() handles it
    after = auto.to_dict()
    assert after['sample'] == before['sample']
    assert after['n_learnt'] == before['n_learnt']


def test_early_motion_can_be_judged_too():
    auto = AutoThresholds(warmup=30, metrics=DEFAULT_METRICS
                          + (CRITERION_EARLY,))
    rng = np.random.default_rng(1)
    for index, values in enumerate(normal_movies(30)):
        values[CRITERION_EARLY] = rng.uniform(2.0, 3.0)
        auto.add(index, values)
    [(_, decision)] = auto.add('early', metrics(2.0, 25.0, early=20.0))
    assert decision.reason.startswith('early motion: 20.00 Å > ')
    # a movie without dose information is not judged on early motion
    assert auto.add('no dose', metrics(2.0, 25.0, early=np.nan))[0][1] \
        .accepted


def test_motion_metrics_from_measured_movies():
    x, y = [0.0, 3.0, 3.0, 6.0], [0.0, 4.0, 4.0, 8.0]  # steps 5, 0, 5 px
    motion = measure_motion(x, y, 0.4)
    assert motion_metrics(motion) == {CRITERION_FRAME: 2.0,
                                      CRITERION_MOVIE: 4.0}
    with_dose = motion_metrics(motion, measure_dose_motion(x, y, 0.4, 1.0,
                                                           cutoff_dose=2.0))
    assert with_dose[CRITERION_EARLY] == 2.0
    # early motion given to an object that does not judge it is ignored
    assert warmed_up().add(0, with_dose)[0][1].accepted


def test_unknown_metric_names_raise():
    with pytest.raises(ValueError, match='unknown metrics'):
        warmed_up().add(0, {'max frame shifts': 1.0})
    with pytest.raises(ValueError):
        AutoThresholds(metrics=('total travel', 'speed'))
    with pytest.raises(ValueError):
        AutoThresholds(metrics=())


@pytest.mark.parametrize('kwargs', [dict(warmup=5), dict(warmup=20.5),
                                    dict(k=0), dict(k=np.nan),
                                    dict(reservoir_size=10)])
def test_bad_settings_raise(kwargs):
    with pytest.raises(ValueError):
        AutoThresholds(**kwargs)


# --------------------------------------------------------------------------
# Robustness: runs of bad movies
# --------------------------------------------------------------------------

def test_long_run_of_bad_movies_after_warm_up_changes_nothing():
    auto = warmed_up(200)
    limits = auto.thresholds()
    rng = np.random.default_rng(2)
    for index in range(3000):
        travel = limits[CRITERION_MOVIE] * rng.uniform(1.05, 4.0)
        [(_, decision)] = auto.add(index, metrics(2.0, travel))
        assert not decision.accepted
    assert auto.thresholds() == limits


def test_run_of_bad_movies_straddling_the_threshold_cannot_raise_it():
    # Bad movies around the threshold: those below it are accepted, and
    # without a ceiling they would drag it up (see the class docstring).
    auto = warmed_up(50)
    start = auto.thresholds()[CRITERION_MOVIE]
    ceiling = auto.ceilings[CRITERION_MOVIE]
    sample = [m[CRITERION_MOVIE] for m in normal_movies(50)]
    median = np.median(sample)
    sigma = 1.4826 * np.median(np.abs(np.asarray(sample) - median))
    assert ceiling <= median + CEILING_FACTOR * DEFAULT_K * sigma + 1e-9
    rng = np.random.default_rng(3)
    accepted_above = 0
    for index in range(3000):
        travel = rng.normal(start, 0.4 * start)
        in_force = auto.thresholds()[CRITERION_MOVIE]
        assert in_force <= ceiling
        [(_, decision)] = auto.add(index, metrics(2.0, travel))
        assert decision.accepted == (travel <= in_force)
        accepted_above += decision.accepted and travel > ceiling
    assert accepted_above == 0
    assert auto.thresholds()[CRITERION_MOVIE] <= ceiling


def test_without_the_ceiling_the_same_run_would_drag_the_threshold_up(
        monkeypatch):
    # Guards the previous test: the ceiling is what stops the drift.
    monkeypatch.setattr(auto_threshold, 'CEILING_FACTOR', 1e6)
    auto = warmed_up(50)
    start = auto.thresholds()[CRITERION_MOVIE]
    rng = np.random.default_rng(3)
    for index in range(3000):
        auto.add(index, metrics(2.0, rng.normal(start, 0.4 * start)))
    assert auto.thresholds()[CRITERION_MOVIE] > 1.5 * start


def test_thresholds_follow_the_session_below_the_ceiling():
    auto = warmed_up(50)
    ceiling = auto.ceilings[CRITERION_MOVIE]
    calmer = [metrics(m[CRITERION_FRAME], m[CRITERION_MOVIE] * 0.7)
              for m in normal_movies(2000, seed=4)]
    for index, values in enumerate(calmer):
        auto.add(index, values)
    assert auto.thresholds()[CRITERION_MOVIE] < 0.85 * ceiling


# --------------------------------------------------------------------------
# Properties: decisions against the thresholds in force, never revised
# --------------------------------------------------------------------------

value = st.one_of(st.floats(min_value=0, max_value=1e3),
                  st.just(np.nan), st.none())


@given(rows=st.lists(st.tuples(value, value), min_size=0, max_size=150),
       warmup=st.integers(min_value=10, max_value=30),
       k=st.floats(min_value=0.5, max_value=8), finish_at=st.integers(0, 150))
@FAST
def test_no_movie_above_the_threshold_in_force_is_accepted(rows, warmup, k,
                                                           finish_at):
    auto = AutoThresholds(warmup=warmup, k=k, reservoir_size=warmup + 5)
    decided = {}
    in_force = {}
    for index, (frame, travel) in enumerate(rows):
        if index == finish_at:
            for key, decision in auto.finish_warmup():
                decided[key] = decision
                in_force[key] = auto.warmup_thresholds
        was_warming_up, before = auto.warming_up, auto.thresholds()
        for key, decision in auto.add(index, metrics(frame, travel)):
            assert key not in decided  # each movie is decided once
            decided[key] = decision
            in_force[key] = (auto.warmup_thresholds if was_warming_up
                             else before)
        for limit, ceiling in zip(auto.thresholds().values(),
                                  auto.ceilings.values()):
            if limit is not None:
                assert ceiling is not None and limit <= ceiling
    for key, decision in auto.finish_warmup():
        decided[key] = decision
        in_force[key] = auto.warmup_thresholds
    assert sorted(decided) == list(range(len(rows)))
    for key, decision in decided.items():
        frame, travel = rows[key]
        over = [name for name, v in ((CRITERION_FRAME, frame),
                                     (CRITERION_MOVIE, travel))
                if v is not None and in_force[key][name] is not None
                and v > in_force[key][name]]
        assert decision.accepted == (not over)
        if over:
            assert decision.criterion == ' and '.join(over)


@given(rows=st.lists(st.tuples(st.floats(0, 50), st.floats(0, 200)),
                     min_size=0, max_size=120),
       cut=st.integers(0, 120))
@FAST
def test_a_restored_state_continues_exactly_as_the_original(rows, cut):
    def run(items, auto):
        out = []
        for index, (frame, travel) in items:
            out += auto.add(index, metrics(frame, travel))
        return out
    items = list(enumerate(rows))
    straight = AutoThresholds(warmup=15, reservoir_size=30)
    expected = run(items, straight) + straight.finish_warmup()
    first = AutoThresholds(warmup=15, reservoir_size=30)
    decisions = run(items[:cut], first)
    state = json.loads(json.dumps(first.to_dict(), allow_nan=False))
    restored = AutoThresholds.from_dict(state)
    decisions += run(items[cut:], restored) + restored.finish_warmup()
    assert decisions == expected
    assert restored.thresholds() == straight.thresholds()
    assert restored.to_dict() == straight.to_dict()


def test_replaying_the_same_movies_rebuilds_the_same_state():
    def session():
        auto = AutoThresholds(reservoir_size=100)
        for index, values in enumerate(normal_movies(600, seed=6)):
            auto.add(index, values)
        return auto.to_dict()
    assert session() == session()


def test_state_is_small_json_and_stays_flat_over_a_long_session():
    auto = AutoThresholds(reservoir_size=200)
    refreshes = []
    original = auto._refresh

    def counting_refresh():
        refreshes.append(auto.n_added)
        original()
    auto._refresh = counting_refresh
    sizes = {}
    for index, values in enumerate(normal_movies(20000, seed=7)):
        auto.add(index, values)
        if index + 1 in (5000, 20000):
            sizes[index + 1] = len(json.dumps(auto.to_dict(),
                                              allow_nan=False))
    state = auto.to_dict()
    assert len(state['sample']) == 200 and state['pending'] == []
    assert sizes[20000] < 1.1 * sizes[5000] < 20000
    # thresholds are recomputed only when the sample changes: about
    # 200 * ln(20000 / 10000) times over the second half of the session
    assert sum(1 for n in refreshes if n > 10000) < 300


# --------------------------------------------------------------------------
# Measurement: simulated sessions with injected outliers
# --------------------------------------------------------------------------

@pytest.mark.parametrize('fraction', [0.02, 0.05, 0.10, 0.20])
def test_finds_injected_outliers_with_precision_and_recall_over_095(
        fraction):
    # Pooled over 5 sessions (seeds 1-5) of 1000 movies with per-movie
    # motion spread 0.2; see auto_threshold.precision_recall_table().
    score = simulated_session_scores(fraction)
    assert score['movies'] == 5000
    assert score['outliers'] == round(fraction * 1000) * 5
    assert score['precision'] >= 0.95, score
    assert score['recall'] >= 0.95, score


def test_clean_sessions_lose_almost_no_movie():
    score = simulated_session_scores(0.0)
    assert score['false_positives'] <= 2  # of 5000
