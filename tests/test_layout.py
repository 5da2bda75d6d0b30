"""How the aligners' shifts are numbered (xmipp3.maxshift.layout, pure Python):
the kinds, their descriptions and advice, and a run's tally of them."""
import json

import pytest

from xmipp3.maxshift.layout import (LAYOUT_FRAMES, LAYOUT_MISMATCH, LAYOUT_NO_RANGE,
                                    LAYOUT_NO_TRAJECTORY, LayoutTally, ShiftLayout,
                                    aligned_range)


@pytest.mark.parametrize('frame_range, expected', [
    ((3, 40), (3, 40)), ([1, 24], (1, 24)), ((-1, -1), None), ((0, 0), None),
    ((1, 0), None), (None, None), (('a', 2), None), ((1,), None), ('ab', None)])
def test_aligned_range_takes_frame_numbers_at_least_one(frame_range, expected):
    assert aligned_range(frame_range) == expected


@pytest.mark.parametrize('layout, kind, text', [
    (ShiftLayout(38, 3, 40, movie_frames=40), LAYOUT_FRAMES,
     'shifts for frames 3-40 of 40'),
    (ShiftLayout(24, 1, 24), LAYOUT_FRAMES, 'shifts for frames 1-24'),
    (ShiftLayout(24), LAYOUT_NO_RANGE, '24 shifts, no aligned frame range stored'),
    (ShiftLayout(40, 3, 40), LAYOUT_MISMATCH,
     '40 shifts for aligned frames 3-40 (38 frames): frame numbers unknown'),
    (ShiftLayout(24, 1, 768, eer=True, movie_frames=768), LAYOUT_MISMATCH,
     'EER fractions: 24 shifts for aligned frames 1-768 (768 frames): frame '
     'numbers unknown'),
    (ShiftLayout(24, 1, 24, eer=True, movie_frames=24), LAYOUT_FRAMES,
     'EER fractions: shifts for frames 1-24 of 24'),
    (ShiftLayout(40, 3, 40, all_zero=True), LAYOUT_NO_TRAJECTORY,
     'no trajectories: all shifts are zero (aligned movies were saved: the '
     'aligner stored no trajectory)'),
])
def test_each_layout_says_what_the_input_looks_like(layout, kind, text):
    assert layout.kind == kind
    assert layout.describe() == text


def test_only_a_range_that_agrees_with_the_shifts_numbers_them():
    assert ShiftLayout(38, 3, 40).first_frame == 3
    assert ShiftLayout(40, 3, 40).first_frame is None
    assert ShiftLayout(40).first_frame is None
    assert ShiftLayout(40, 3, 40).frames_unknown == \
        'aligned frames 3-40 are 38 frames but there are 40 shifts'
    assert ShiftLayout(38, 3, 40).frames_unknown == ''


def test_advice_says_what_the_figures_mean_and_what_to_do():
    assert ShiftLayout(38, 3, 40).advice() == ''
    assert ShiftLayout(24).advice() == ''
    assert 'align again without saving aligned movies' in \
        ShiftLayout(40, 3, 40, all_zero=True).advice()
    mismatch = ShiftLayout(40, 3, 40).advice()
    assert 'measured from the shifts as stored' in mismatch
    assert 'early/late motion' in mismatch
    eer = ShiftLayout(24, 1, 768, eer=True).advice()
    assert 'between two EER fractions' in eer and 'as stored' in eer


def test_a_tally_says_each_kind_once_most_movies_first():
    tally = LayoutTally()
    numbered = ShiftLayout(38, 3, 40, movie_frames=40)
    zeros = ShiftLayout(40, 3, 40, all_zero=True)
    assert tally.add(zeros)
    assert tally.add(numbered)
    assert not tally.add(numbered)
    assert not tally.add(numbered)
    assert tally.lines() == [
        'Input alignments: shifts for frames 3-40 of 40 (3 movies)',
        'Input alignments: %s (1 movie)' % zeros.describe(),
        '  ' + zeros.advice()]


def test_a_tally_says_when_the_movies_of_a_kind_differ():
    tally = LayoutTally()
    tally.add(ShiftLayout(10, 1, 10))
    tally.add(ShiftLayout(8, 1, 8))
    assert tally.lines() == ['Input alignments: e.g. shifts for frames 1-10 '
                             '(2 movies)']


def test_movies_of_a_kind_described_alike_are_not_said_to_differ():
    tally = LayoutTally()
    tally.add(ShiftLayout(40, 3, 40, all_zero=True))
    tally.add(ShiftLayout(8, all_zero=True))
    assert tally.lines()[0].startswith('Input alignments: no trajectories')


def test_eer_and_other_movies_of_the_same_kind_are_told_apart():
    tally = LayoutTally()
    assert tally.add(ShiftLayout(24, 1, 24))
    assert tally.add(ShiftLayout(24, 1, 24, eer=True))


def test_a_tally_survives_json():
    tally = LayoutTally()
    for layout in (ShiftLayout(38, 3, 40, movie_frames=40), ShiftLayout(8, 1, 8),
                   ShiftLayout(10, 1, 10), ShiftLayout(24, 1, 768, eer=True)):
        tally.add(layout)
    again = LayoutTally.from_list(json.loads(json.dumps(tally.to_list())))
    assert again.lines() == tally.lines()
    assert again.to_list() == tally.to_list()
