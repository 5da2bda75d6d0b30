"""Automatic motion thresholds learnt from a session (numpy only).

AutoThresholds follows a stream of movies and discards those whose motion is
unusual for the session: after a warm-up of N movies, a movie is discarded
when a metric exceeds median + k * sigma of the movies accepted so far, with
sigma = 1.4826 * MAD (the MAD scaled to estimate a normal standard
deviation). Decisions are final once made.

Defaults: k = 6 and a warm-up of 50 movies. Motion metrics are skewed to the
right (a movie's motion scales multiplicatively: log-sd 0.18 of the total
travel in the bundled RELION tutorial session), so sigma measured around the
median underestimates the upper tail; k = 6 on the linear scale is about 4
standard deviations of the log for such a session. On simulated sessions of
1000 movies (log-sd 0.2, 2-20 % injected jumps and drifts, 5 seeds, see
simulated_session_scores), the lowest precision or recall over the four
outlier fractions is 0.971 for k = 5, 0.980 for k = 6 and 0.968 for k = 7,
and clean sessions lose 7, 1 and 0 of 5000 good movies. A warm-up of 20
gives a noisier start (precision 0.961 at 5 % outliers); 100 is no better
than 50 and holds the first outputs back twice as long (50 movies are a few
minutes of a session).

Run ``python -m xmipp3.maxshift.auto_threshold`` for the precision and recall of the
default settings on simulated sessions with injected outliers.
"""
import hashlib
import math

import numpy as np

from xmipp3.maxshift.motion import (CRITERION_EARLY, CRITERION_FRAME, CRITERION_MOVIE,
                                    MOTION_OK, Criterion, Decision, format_angstrom,
                                    measure_motion)

DEFAULT_METRICS = (CRITERION_FRAME, CRITERION_MOVIE)
KNOWN_METRICS = (CRITERION_FRAME, CRITERION_MOVIE, CRITERION_EARLY)
DEFAULT_WARMUP = 50
DEFAULT_K = 6.0
DEFAULT_RESERVOIR_SIZE = 1000
MAD_TO_SIGMA = 1.4826
MIN_REFERENCE = 10       # fewer values than this give no threshold
SIGMA_FLOOR = 0.05       # sigma >= 5 % of the median ...
SIGMA_FLOOR_A = 0.01     # ... and >= 0.01 A
MAX_WARMUP_PASSES = 10
CEILING_FACTOR = 1.25     # ceiling = median + 1.25 k sigma of the warm-up
STATE_VERSION = 1


def robust_threshold(values, k=DEFAULT_K):
    """median + k * sigma of the finite values (A); None if under 10 values.

    sigma = 1.4826 * MAD, but at least 5 % of the median and 0.01 A: a
    session of near-identical movies (MAD 0) would otherwise discard every
    movie above the median.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < MIN_REFERENCE:
        return None
    median = float(np.median(values))
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(values - median)))
    sigma = max(sigma, SIGMA_FLOOR * abs(median), SIGMA_FLOOR_A)
    return median + k * sigma


def motion_metrics(motion, dose_motion=None):
    """The metrics AutoThresholds judges, from measure_motion() (and
    measure_dose_motion()) results: {name: value in A}.

    A movie without usable motion (invalid, or no motion information) gives
    NaN for all: AutoThresholds neither judges it nor learns from it
    (decide() discards or flags it). Early motion is NaN when unavailable.
    """
    usable = motion.quality == MOTION_OK
    metrics = {CRITERION_FRAME: motion.max_frame_shift if usable else np.nan,
               CRITERION_MOVIE: motion.total_travel if usable else np.nan}
    if dose_motion is not None:
        metrics[CRITERION_EARLY] = dose_motion.early if usable else np.nan
    return metrics


def _reservoir_slot(seed, count):
    """Uniform integer in [0, count], fixed by (seed, count).

    A hash instead of a random generator: the reservoir then depends only on
    the seed and the sequence of accepted movies, and its state is just its
    contents and a count.
    """
    digest = hashlib.blake2b(b'%d:%d' % (seed, count), digest_size=8).digest()
    return int.from_bytes(digest, 'little') % (count + 1)


def _lowest(limit, ceiling):
    """The lower of two limits, None meaning no limit."""
    if limit is None or ceiling is None:
        return ceiling if limit is None else limit
    return min(limit, ceiling)


def _json_limits(limits):
    return None if limits is None else {
        name: _json_number(limit) for name, limit in limits.items()}


def _json_number(value):
    return None if value is None or not math.isfinite(value) else value


def _float_or_nan(value):
    return np.nan if value is None else float(value)


class AutoThresholds:
    """Streaming outlier thresholds: median + k * sigma of accepted movies.

    Usage: for each movie in arrival order, ``add(key, metrics)`` returns
    the decisions made by that call as a list of (key, Decision): nothing
    while the movie is pending in the warm-up, all warm-up movies at once
    when the warm-up-th movie arrives, and the movie itself afterwards. If
    the input ends during the warm-up, ``finish_warmup()`` judges the
    pending movies. A movie is discarded when any metric is over its
    threshold (limits inclusive, as in decide()), with reason
    '<criterion>: <value> Å > <limit> Å (automatic threshold)'.

    Robustness: two rules keep a run of bad movies from dragging the
    thresholds up.
    1. The statistics come only from movies accepted so far: a run of
       movies above the thresholds, however long, changes nothing.
    2. Each threshold is capped by a ceiling fixed when the warm-up ends:
       median + 1.25 k sigma of the accepted warm-up movies. Rule 1 alone
       fails when bad movies straddle the threshold: those just below it
       are accepted, raise the median and MAD, which accepts more of them,
       and so on (simulated: after 100 movies of 25 +- 5 A, a run of 3000
       movies of 60 +- 15 A raised the total-travel threshold from 51 to
       150 A and 98 % of them were accepted; with the ceiling it stops at
       57 A). Below the ceiling the thresholds follow the session: they
       tighten as the estimate improves and may relax again.
    The ceiling has a margin (1.25 k, not k) because sigma from 50 movies
    is uncertain by about 20 %: in one of 20 simulated sessions it came out
    at half the session's value, and a ceiling at the warm-up threshold
    itself then discarded 11 good movies. For the same reason the
    threshold is not made monotone non-increasing: it would lock in the
    lowest of the noisy early estimates for the rest of the session.
    A metric without a threshold at the end of the warm-up (fewer than 10
    values) gets its ceiling when its first threshold is set.

    Warm-up. The first `warmup` movies are judged together, against the
    thresholds of the warm-up movies within them (iterated to a fixed
    point, at most 10 passes; median and MAD tolerate up to half of the
    warm-up being outliers); the accepted ones start the reference.

    Cost. The reference is a uniform sample (reservoir sampling) of at most
    `reservoir_size` accepted movies, so memory and the time per movie stay
    flat however long the session; thresholds are recomputed only when the
    sample changes, which becomes rarer as the session grows. With 1000
    movies the sample's median and sigma differ from those of all accepted
    movies by about 4 % of sigma, small against a margin of k sigma. The sample
    slot is a hash of (seed, count), so the whole state is deterministic.

    Metrics with a NaN (or missing) value are not judged for that movie and
    not learnt from; a metric with fewer than 10 reference values has no
    threshold yet (None), so nothing is discarded by it.

    Restart: to_dict() gives a small JSON-able state and from_dict()
    rebuilds the object; re-adding the same (key, metrics) in the same
    order (and finish_warmup() at the same point) rebuilds the same state
    too.
    """

    def __init__(self, warmup=DEFAULT_WARMUP, k=DEFAULT_K,
                 metrics=DEFAULT_METRICS,
                 reservoir_size=DEFAULT_RESERVOIR_SIZE, seed=0):
        metrics = tuple(metrics)
        unknown = set(metrics) - set(KNOWN_METRICS)
        if unknown or not metrics or len(set(metrics)) != len(metrics):
            raise ValueError('metrics %r must be distinct names among %s'
                             % (metrics, ', '.join(KNOWN_METRICS)))
        if int(warmup) != warmup or warmup < MIN_REFERENCE:
            raise ValueError('warm-up %r must be an integer >= %d'
                             % (warmup, MIN_REFERENCE))
        if not (math.isfinite(k) and k > 0):
            raise ValueError('k %r must be a positive number' % (k,))
        if int(reservoir_size) != reservoir_size or reservoir_size < warmup:
            raise ValueError('reservoir size %r must be an integer >= the '
                             'warm-up (%d)' % (reservoir_size, warmup))
        self.warmup = int(warmup)
        self.k = float(k)
        self.metrics = metrics
        self.reservoir_size = int(reservoir_size)
        self.seed = int(seed)
        self.n_added = 0
        self.n_learnt = 0              # accepted movies offered to the sample
        self.warming_up = True
        self.warmup_thresholds = None  # {name: limit or None} once ended
        self.ceilings = {name: None for name in metrics}
        self._pending = []             # [(key, row)] during the warm-up
        self._sample = np.full((self.reservoir_size, len(metrics)), np.nan)
        self._thresholds = {name: None for name in metrics}

    # ------------------------------------------------------------------
    # Streaming
    # ------------------------------------------------------------------

    def add(self, key, metrics):
        """Add one movie's metrics ({name: A}); return [(key, Decision)]."""
        row = self._row(metrics)
        self.n_added += 1
        if not self.warming_up:
            decision = self._judge(row, self._thresholds)
            if decision.accepted and self._learn(row):
                self._refresh()
            return [(key, decision)]
        self._pending.append((key, row))
        if len(self._pending) >= self.warmup:
            return self.finish_warmup()
        return []

    def finish_warmup(self):
        """End the warm-up now; return the pending movies' decisions.

        Call it when the input ends before `warmup` movies arrived. With
        fewer than 10 movies, nothing can be judged and all are accepted.
        Does nothing (returns []) once the warm-up has ended.
        """
        if not self.warming_up:
            return []
        rows = np.array([row for _, row in self._pending],
                        dtype=float).reshape(-1, len(self.metrics))
        accepted = np.ones(len(rows), dtype=bool)
        for _ in range(MAX_WARMUP_PASSES):
            limits = self._limits_of(rows[accepted])
            judged = ~self._over(rows, limits).any(axis=1)
            if (judged == accepted).all():
                break
            accepted = judged
        decisions = [(key, self._judge(row, limits))
                     for key, row in self._pending]
        self.warming_up = False
        self.warmup_thresholds = dict(limits)
        self.ceilings = self._limits_of(rows[accepted],
                                        CEILING_FACTOR * self.k)
        for (_, row), (_, decision) in zip(self._pending, decisions):
            if decision.accepted:
                self._learn(row)
        self._pending = []
        self._refresh()
        return decisions

    @property
    def pending_keys(self):
        """Keys of the warm-up movies not decided yet, in arrival order."""
        return [key for key, _ in self._pending]

    def thresholds(self):
        """The thresholds in force for the next movie: {name: A or None}.

        Each is the lower of median + k * sigma of the accepted movies and
        its ceiling (the first threshold set, normally at the end of the
        warm-up). All None during the warm-up (movies are pending), and
        None for a metric with fewer than 10 reference values.
        """
        return dict(self._thresholds)

    def describe(self):
        """One line for the log and the summary."""
        if self.warming_up:
            return ('automatic thresholds: warm-up, %d of %d movies pending'
                    % (len(self._pending), self.warmup))
        limits = ', '.join(
            '%s %s' % (name, 'not set (too few movies)' if limit is None
                       else '%s Å' % format_angstrom(limit))
            for name, limit in self.thresholds().items())
        return ('automatic thresholds (median + %g sigma of %d accepted '
                'movies): %s' % (self.k, self.n_learnt, limits))

    # ------------------------------------------------------------------
    # State
    # ------------------------------------------------------------------

    def to_dict(self):
        """The whole state as a small JSON-able dict (NaN stored as None).

        Keys given to add() must be JSON-able (ids, names) to survive
        json.dumps / json.loads.
        """
        used = min(self.n_learnt, self.reservoir_size)

        def numbers(row):
            return [_json_number(float(value)) for value in row]
        return {
            'version': STATE_VERSION,
            'warmup': self.warmup, 'k': self.k,
            'metrics': list(self.metrics),
            'reservoir_size': self.reservoir_size, 'seed': self.seed,
            'n_added': self.n_added, 'n_learnt': self.n_learnt,
            'warming_up': self.warming_up,
            'warmup_thresholds': _json_limits(self.warmup_thresholds),
            'ceilings': _json_limits(self.ceilings),
            'pending': [[key, numbers(row)] for key, row in self._pending],
            'sample': [numbers(row) for row in self._sample[:used]],
        }

    @classmethod
    def from_dict(cls, state):
        """Rebuild an AutoThresholds saved with to_dict()."""
        if state.get('version') != STATE_VERSION:
            raise ValueError('unknown automatic-threshold state version %r'
                             % state.get('version'))
        auto = cls(state['warmup'], state['k'], state['metrics'],
                   state['reservoir_size'], state['seed'])
        auto.n_added = int(state['n_added'])
        auto.n_learnt = int(state['n_learnt'])
        auto.warming_up = bool(state['warming_up'])
        if state['warmup_thresholds'] is not None:
            auto.warmup_thresholds = {
                name: state['warmup_thresholds'][name]
                for name in auto.metrics}
        auto.ceilings = {name: state['ceilings'][name]
                         for name in auto.metrics}
        auto._pending = [(key, [_float_or_nan(v) for v in row])
                         for key, row in state['pending']]
        sample = np.array([[_float_or_nan(v) for v in row]
                           for row in state['sample']], dtype=float)
        auto._sample[:len(sample)] = sample.reshape(-1, len(auto.metrics))
        if not auto.warming_up:
            auto._refresh()
        return auto

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------

    def _row(self, metrics):
        unknown = set(metrics) - set(KNOWN_METRICS)
        if unknown:  # a known metric that is not judged is ignored
            raise ValueError('unknown metrics %s (known: %s)'
                             % (', '.join(sorted(map(str, unknown))),
                                ', '.join(KNOWN_METRICS)))
        row = []
        for name in self.metrics:
            value = metrics.get(name)
            try:
                row.append(np.nan if value is None else float(value))
            except (TypeError, ValueError, OverflowError):
                row.append(np.nan)
        return row

    def _limits_of(self, rows, k=None):
        rows = np.asarray(rows, dtype=float).reshape(-1, len(self.metrics))
        k = self.k if k is None else k
        return {name: robust_threshold(rows[:, column], k)
                for column, name in enumerate(self.metrics)}

    def _over(self, rows, limits):
        rows = np.asarray(rows, dtype=float).reshape(-1, len(self.metrics))
        limit = np.array([np.inf if limits[name] is None else limits[name]
                          for name in self.metrics])
        with np.errstate(invalid='ignore'):
            return rows > limit  # NaN is never over

    def _judge(self, row, limits):
        over = self._over(row, limits)[0]
        return Decision(not over.any(), tuple(
            Criterion(name, value, limits[name], automatic=True)
            for name, value, is_over in zip(self.metrics, row, over) if is_over))

    def _learn(self, row):
        """Offer an accepted movie to the sample; True if it changed."""
        if not np.isfinite(row).any():
            return False
        count = self.n_learnt
        slot = (count if count < self.reservoir_size
                else _reservoir_slot(self.seed, count))
        self.n_learnt += 1
        if slot >= self.reservoir_size:
            return False
        self._sample[slot] = row
        return True

    def _refresh(self):
        """Recompute the thresholds in force from the sample and ceilings."""
        used = min(self.n_learnt, self.reservoir_size)
        for name, limit in self._limits_of(self._sample[:used]).items():
            if self.ceilings[name] is None and limit is not None:
                self.ceilings[name] = robust_threshold(
                    self._sample[:used, self.metrics.index(name)],
                    CEILING_FACTOR * self.k)
            self._thresholds[name] = _lowest(limit, self.ceilings[name])


# --------------------------------------------------------------------------
# Measurement on simulated sessions
# --------------------------------------------------------------------------

SESSION_FRACTIONS = (0.02, 0.05, 0.10, 0.20)
SESSION_SEEDS = (1, 2, 3, 4, 5)
SESSION_MOVIES = 1000
SESSION_SPREAD = 0.2  # log-sd of per-movie motion; 0.18 in the RELION data


def simulated_session_scores(outlier_fraction, seeds=SESSION_SEEDS,
                             n_movies=SESSION_MOVIES,
                             motion_spread=SESSION_SPREAD, **settings):
    """Precision and recall of AutoThresholds(**settings) at finding the
    outliers injected by simulation.random_walk_trajectories.

    Counts are pooled over the seeds (one session of n_movies per seed);
    every movie of a session is decided, warm-up included. Returns a dict:
    precision, recall, true_positives, false_positives, false_negatives,
    outliers, movies, and per_seed [(precision, recall), ...].
    """
    from xmipp3.maxshift.simulation import random_walk_trajectories

    totals = np.zeros(3, dtype=int)  # tp, fp, fn
    per_seed = []
    for seed in seeds:
        auto = AutoThresholds(**settings)
        decisions = {}
        trajectories = random_walk_trajectories(
            n_movies, outlier_fraction=outlier_fraction, seed=seed,
            motion_spread=motion_spread)
        for index, entry in enumerate(trajectories):
            motion = measure_motion(entry['shift_x_px'], entry['shift_y_px'],
                                    entry['pixel_size_A'])
            decisions.update(auto.add(index, motion_metrics(motion)))
        decisions.update(auto.finish_warmup())
        truth = np.array([bool(entry['outlier']) for entry in trajectories])
        found = np.array([not decisions[i].accepted
                          for i in range(n_movies)])
        counts = np.array([(found & truth).sum(), (found & ~truth).sum(),
                           (~found & truth).sum()])
        totals += counts
        per_seed.append(_precision_recall(*counts))
    precision, recall = _precision_recall(*totals)
    return {'precision': precision, 'recall': recall,
            'true_positives': int(totals[0]),
            'false_positives': int(totals[1]),
            'false_negatives': int(totals[2]),
            'outliers': int(totals[0] + totals[2]),
            'movies': n_movies * len(seeds), 'per_seed': per_seed}


def _precision_recall(true_positives, false_positives, false_negatives):
    found = true_positives + false_positives
    outliers = true_positives + false_negatives
    precision = true_positives / found if found else 1.0
    recall = true_positives / outliers if outliers else 1.0
    return float(precision), float(recall)


def precision_recall_table(fractions=SESSION_FRACTIONS, **options):
    """A Markdown table of simulated_session_scores() per outlier fraction."""
    lines = ['| outliers | movies | injected | precision | recall | '
             'worst seed (precision, recall) |',
             '|---|---|---|---|---|---|']
    for fraction in fractions:
        score = simulated_session_scores(fraction, **options)
        worst = (min(p for p, _ in score['per_seed']),
                 min(r for _, r in score['per_seed']))
        lines.append('| %g %% | %d | %d | %.3f | %.3f | %.3f, %.3f |'
                     % (100 * fraction, score['movies'], score['outliers'],
                        score['precision'], score['recall'], *worst))
    return '\n'.join(lines)


if __name__ == '__main__':  # the README's table: python -m xmipp3.maxshift.auto_threshold
    print('AutoThresholds(warmup=%d, k=%g) on simulated sessions of %d '  # noqa: T201
          'movies (seeds %s, motion spread %g):\n'
          % (DEFAULT_WARMUP, DEFAULT_K, SESSION_MOVIES,
             ', '.join(map(str, SESSION_SEEDS)), SESSION_SPREAD))
    print(precision_recall_table())  # noqa: T201
