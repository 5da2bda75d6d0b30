"""xmipp3.maxshift.motion on real cryo-EM movie trajectories bundled with the plugin.

The data (xmipp3/data/real_motion_trajectories.json, see the README there) are
per-frame global shifts parsed from public repositories; RELION entries carry
RELION's own accumulated motion, which must equal our total travel (and, for
the RELION tutorial movies, our early and late motion).
"""
import json
import os

import numpy as np
import pytest

import xmipp3.maxshift.motion
from xmipp3.maxshift.auto_threshold import AutoThresholds, motion_metrics
from xmipp3.maxshift.motion import (CRITERION_FRAME, CRITERION_MOVIE, MOTION_INVALID,
                                    REJ_FRAME, REJ_OR, decide, measure_dose_motion,
                                    measure_motion)
from xmipp3.protocols import XmippProtMovieMaxShift

DATA_FILE = os.path.join(os.path.dirname(xmipp3.maxshift.motion.__file__), 'data',
                         'real_motion_trajectories.json')
RELION_KEY = 'relion_accum_motion_total_early_late_px'
TILT_SOURCE = 'TomoBabel/cets-relion'
DEFAULT_FRAME_LIMIT = 10.0  # A, the protocol's default max frame shift
DEFAULT_MOVIE_LIMIT = 45.0  # A, its default max movie shift (total travel)
FAILED_JUMP_PX = 500.0       # a frame step this large is a failed alignment


def load_entries():
    with open(DATA_FILE) as f:
        return json.load(f)


ENTRIES = load_entries()
RELION_ENTRIES = [e for e in ENTRIES if RELION_KEY in e]


def label(entry):
    return '%s:%s' % (entry.get('source', '?'), entry['name'])


def measure(entry):
    return measure_motion(entry['shift_x_px'], entry['shift_y_px'],
                          entry['pixel_size_A'])


def largest_step_px(entry):
    x = np.asarray(entry['shift_x_px'], dtype=float)
    y = np.asarray(entry['shift_y_px'], dtype=float)
    return float(np.hypot(np.diff(x), np.diff(y)).max())


def test_data_file_has_all_entries_with_the_expected_keys():
    assert len(ENTRIES) == 266
    for entry in ENTRIES:
        for key in ('name', 'pixel_size_A', 'frames', 'shift_x_px',
                    'shift_y_px'):
            assert key in entry, '%s lacks %r' % (label(entry), key)


def test_enough_relion_entries_to_compare_with():
    # guards the parametrized comparison below against passing vacuously
    assert len(RELION_ENTRIES) > 40


@pytest.mark.parametrize('entry', RELION_ENTRIES, ids=label)
def test_total_travel_equals_relion_accumulated_motion(entry):
    total_px = entry[RELION_KEY][0]
    pixel = entry['pixel_size_A']
    motion = measure(entry)
    assert motion.is_valid, '%s: %s' % (label(entry), motion.problem)
    expected = total_px * pixel
    assert abs(motion.total_travel - expected) <= 1e-3, (
        '%s: total travel %.6f A, RELION rlnAccumMotionTotal %.6f px * '
        '%.4f A/px = %.6f A' % (label(entry), motion.total_travel, total_px,
                                pixel, expected))


def test_every_real_trajectory_measures_as_valid():
    invalid = []
    for entry in ENTRIES:
        motion = measure(entry)
        if not motion.is_valid:
            invalid.append('%s: %s' % (label(entry), motion.problem))
        else:
            assert motion.n_frames == len(entry['shift_x_px']), label(entry)
            assert 0 <= motion.max_frame_shift <= motion.total_travel, \
                label(entry)
    assert not invalid, 'invalid alignments:\n' + '\n'.join(invalid)


def test_every_real_trajectory_gets_a_decision_with_default_limits():
    defaults = XmippProtMovieMaxShift()  # the form's defaults, as documented
    rule = defaults.rejType.get()
    frameLimit, movieLimit = defaults.maxFrameShift.get(), defaults.maxMovieShift.get()
    assert (rule, frameLimit, movieLimit) == (REJ_OR, DEFAULT_FRAME_LIMIT, DEFAULT_MOVIE_LIMIT)
    discardedBy = {CRITERION_FRAME: 0, CRITERION_MOVIE: 0}
    for entry in ENTRIES:
        measured = measure(entry)
        decision = decide(measured, rule, frameLimit, movieLimit)
        assert not decision.reason.startswith(MOTION_INVALID), label(entry)
        assert decision.accepted == (decision.reason == ''), label(entry)
        assert decision.accepted == (measured.max_frame_shift <= frameLimit
                                     and measured.total_travel <= movieLimit), label(entry)
        for criterion in discardedBy:
            discardedBy[criterion] += criterion in decision.reason
    # both limits discard some real movies: neither branch is left untested
    assert all(discardedBy.values()), discardedBy


def test_failed_tilt_alignments_with_huge_jumps_are_discarded_by_frame():
    failed = [e for e in ENTRIES if e.get('source') == TILT_SOURCE
              and largest_step_px(e) > FAILED_JUMP_PX]
    assert failed, 'no tilt-series entry with a jump > %g px' % FAILED_JUMP_PX
    for entry in failed:
        motion = measure(entry)
        assert motion.is_valid, label(entry)
        # far above the default limit, not a borderline case
        assert motion.max_frame_shift > 10 * DEFAULT_FRAME_LIMIT, (
            '%s: max frame shift %.1f A' % (label(entry),
                                            motion.max_frame_shift))
        decision = decide(motion, REJ_FRAME, DEFAULT_FRAME_LIMIT, 1e9)
        assert not decision.accepted, label(entry)
        assert 'max frame shift' in decision.reason


def test_ordinary_tilt_movies_are_not_all_discarded_by_frame():
    # The huge jumps are the exception: most tilt movies pass the default.
    tilts = [e for e in ENTRIES if e.get('source') == TILT_SOURCE]
    accepted = [e for e in tilts
                if decide(measure(e), REJ_FRAME, DEFAULT_FRAME_LIMIT,
                          1e9).accepted]
    assert len(tilts) > 100
    assert len(accepted) > 0.9 * len(tilts)


# --------------------------------------------------------------------------
# Early and late motion, automatic thresholds
# --------------------------------------------------------------------------

TUTORIAL_SOURCES = ('dials/data-files', 'Conecsion/sppractice',
                    '3dem/em-testdata')
TUTORIAL_DOSE = 1.277  # e/A2 per frame; no pre-exposure
TUTORIAL_ENTRIES = [e for e in ENTRIES
                    if e.get('source') in TUTORIAL_SOURCES
                    and e.get('dose_per_frame_e_per_A2') == TUTORIAL_DOSE]
TILT_ENTRIES = [e for e in ENTRIES if e.get('source') == TILT_SOURCE]


def test_every_relion_tutorial_entry_is_checked_for_early_and_late_motion():
    # guards the parametrized comparison below: 24 + 24 + 1 movies
    assert len(TUTORIAL_ENTRIES) == 49
    assert all(RELION_KEY in e for e in TUTORIAL_ENTRIES)


@pytest.mark.parametrize('entry', TUTORIAL_ENTRIES, ids=label)
def test_early_and_late_motion_equal_relions(entry):
    # The tilt movies carry an unknown per-tilt pre-exposure: not checked.
    _, early_px, late_px = entry[RELION_KEY]
    pixel = entry['pixel_size_A']
    result = measure_dose_motion(entry['shift_x_px'], entry['shift_y_px'],
                                 pixel, entry['dose_per_frame_e_per_A2'])
    assert result.available, result.problem
    assert abs(result.early - early_px * pixel) <= 1e-3, (
        '%s: early %.6f A, RELION %.6f px * %.4f A/px'
        % (label(entry), result.early, early_px, pixel))
    assert abs(result.late - late_px * pixel) <= 1e-3, (
        '%s: late %.6f A, RELION %.6f px * %.4f A/px'
        % (label(entry), result.late, late_px, pixel))


def auto_decisions(entries):
    auto = AutoThresholds()
    decisions = {}
    for index, entry in enumerate(entries):
        decisions.update(auto.add(index, motion_metrics(measure(entry))))
    decisions.update(auto.finish_warmup())
    assert sorted(decisions) == list(range(len(entries)))
    return [decisions[index] for index in range(len(entries))]


@pytest.mark.parametrize('order', ['file order', 'reversed'])
def test_failed_tilt_alignments_are_discarded_by_automatic_thresholds(order):
    # In file order the failed movie falls in the warm-up, reversed after it.
    tilts = TILT_ENTRIES if order == 'file order' else TILT_ENTRIES[::-1]
    decisions = auto_decisions(tilts)
    failed = [i for i, e in enumerate(tilts)
              if largest_step_px(e) > FAILED_JUMP_PX]
    assert failed, 'no tilt-series entry with a jump > %g px' % FAILED_JUMP_PX
    for index in failed:
        assert not decisions[index].accepted, label(tilts[index])
        assert decisions[index].reason.startswith('max frame shift'), \
            decisions[index].reason
    # Most tilt movies are kept. The automatic mode assumes one population:
    # it also discards the highest tilts of the most mobile series.
    assert sum(d.accepted for d in decisions) > 0.9 * len(tilts)


def test_relion_tutorial_session_loses_no_movie_to_automatic_thresholds():
    assert all(d.accepted for d in auto_decisions(TUTORIAL_ENTRIES))
