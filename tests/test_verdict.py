"""The decision on one movie as data (xmipp3.maxshift.verdict, and the
criteria and reasons of xmipp3.maxshift.motion), on real pwem movies built
in code: a Movie with an Acquisition and a MovieAlignment, as an alignment
protocol stores it. In-process, no project, no launched protocol.

What it pins: each rule's criteria (name, value, limit, rule, frame), the
dose limits, invalid alignments and movies without motion information, how
fixed and automatic criteria combine (also()), the one rendering of a
reason and its inverse (read_reason, used on Continue), what annotate()
writes on an item and verdictOf() reads back from a set file, and the
limits in words."""
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pwem.objects as emobj

from xmipp3.maxshift.classification import annotate
from xmipp3.maxshift.motion import (REJ_AND, REJ_FRAME, REJ_MOVIE, REJ_OR, Criterion,
                                    Decision, criterion_key, measure_motion,
                                    read_reason, render_reason)
from xmipp3.maxshift.verdict import MovieJudge, Verdict, shiftsOf

# database=None: no .hypothesis directory in the working tree
PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

NAN = float('nan')


def aligned_movie(xshifts, yshifts=None, samplingRate=1.0, dosePerFrame=1.0,
                  first=1, last=None, movieFrames=None, movieId=1,
                  name='movie_001.mrc', extension='.mrcs'):
    """A movie as an alignment protocol leaves it: file, micName, frames
    1..movieFrames, sampling rate, acquisition with its dose, and the
    aligned range first..last with one shift (px) per aligned frame."""
    yshifts = [0.0] * len(xshifts) if yshifts is None else yshifts
    movie = emobj.Movie(location='/data/movie_%03d%s' % (movieId, extension))
    movie.setObjId(movieId)
    movie.setMicName(name)
    movie.setSamplingRate(samplingRate)
    movie.setFramesRange((1, movieFrames or len(xshifts), 1))
    acquisition = emobj.Acquisition()
    acquisition.setVoltage(300.0)
    acquisition.setDosePerFrame(dosePerFrame)
    acquisition.setDoseInitial(0.0)
    movie.setAcquisition(acquisition)
    movie.setAlignment(emobj.MovieAlignment(
        first=first, last=last or first + len(xshifts) - 1,
        xshifts=list(xshifts), yshifts=list(yshifts)))
    return movie


def along_x(steps, **kwargs):
    """A movie whose frames step along x by these lengths (px = Å at 1 Å/px)."""
    positions = [0.0]
    for step in steps:
        positions.append(positions[-1] + step)
    return aligned_movie(positions, **kwargs)


def judged(movie, rule=REJ_OR, maxFrameShift=10.0, maxMovieShift=45.0, **limits):
    return MovieJudge(rule, maxFrameShift, maxMovieShift, **limits).judge(movie)[0]


# --------------------------------------------------------------------------
# Each rule's criteria, as data
# --------------------------------------------------------------------------

# steps 1, 12, 1 Å: max frame shift 12 Å (the step to frame 3), total 14 Å
ONE_JUMP = [1.0, 12.0, 1.0]
# ten steps of 5 Å: max frame shift 5 Å, total travel 50 Å
LONG_DRIFT = [5.0] * 10
# four steps of 12 Å: max frame shift 12 Å, total travel 48 Å
BOTH = [12.0] * 4


def test_rule_by_frame_discards_a_jump_with_the_frame_of_the_largest_step():
    verdict = judged(along_x(ONE_JUMP), rule=REJ_FRAME)
    assert not verdict.accepted
    assert verdict.criteria == (Criterion('max frame shift', 12.0, 10.0, REJ_FRAME,
                                          frame=3),)
    assert verdict.reason == 'max frame shift: 12.00 Å > 10 Å at frame 3 (rule by frame)'
    assert verdict.criterion == 'max frame shift'
    assert verdict.metrics['maxFrameShift_A'] == 12.0
    assert verdict.metrics['totalTravel_A'] == 14.0
    assert verdict.texts['jumpFrames'] == '3'


def test_rule_by_whole_movie_discards_a_long_drift_on_total_travel():
    verdict = judged(along_x(LONG_DRIFT), rule=REJ_MOVIE)
    assert verdict.criteria == (Criterion('total travel', 50.0, 45.0, REJ_MOVIE),)
    assert verdict.reason == 'total travel: 50.00 Å > 45 Å (rule by whole movie)'
    assert verdict.criterion == 'total travel'
    # the rule by whole movie ignores frame jumps
    assert judged(along_x(ONE_JUMP), rule=REJ_MOVIE).accepted


def test_rule_by_frame_and_movie_needs_both_and_names_both():
    assert judged(along_x(ONE_JUMP), rule=REJ_AND).accepted
    assert judged(along_x(LONG_DRIFT), rule=REJ_AND).accepted
    verdict = judged(along_x(BOTH), rule=REJ_AND)
    assert verdict.criteria == (
        Criterion('max frame shift', 12.0, 10.0, REJ_AND, frame=2),
        Criterion('total travel', 48.0, 45.0, REJ_AND))
    assert verdict.reason == ('max frame shift and total travel: 12.00 Å > 10 Å at '
                              'frame 2, 48.00 Å > 45 Å (rule by frame and movie)')
    assert verdict.criterion == 'max frame shift and total travel'


def test_rule_by_frame_or_movie_names_only_the_criteria_over_their_limit():
    assert judged(along_x(ONE_JUMP), rule=REJ_OR).criteria == (
        Criterion('max frame shift', 12.0, 10.0, REJ_OR, frame=3),)
    assert judged(along_x(LONG_DRIFT), rule=REJ_OR).criteria == (
        Criterion('total travel', 50.0, 45.0, REJ_OR),)
    assert judged(along_x(BOTH), rule=REJ_OR).criterion == \
        'max frame shift and total travel'


@pytest.mark.parametrize('rule', [REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR])
def test_a_movie_exactly_at_its_limits_is_accepted(rule):
    verdict = judged(along_x(ONE_JUMP), rule, maxFrameShift=12.0, maxMovieShift=14.0)
    assert verdict.accepted
    assert verdict.criteria == ()
    assert verdict.reason == '' and verdict.criterion == ''


def test_the_frame_of_the_largest_step_is_numbered_from_the_aligned_range():
    # shifts of frames 3-6 of a 6-frame movie: the 12 Å step ends at frame 5
    verdict = judged(along_x(ONE_JUMP, first=3, movieFrames=6))
    assert verdict.criteria[0].frame == 5
    assert verdict.reason.endswith('12.00 Å > 10 Å at frame 5 (rule by frame or movie)')


def test_without_frame_numbers_the_reason_names_no_frame_and_the_note_says_why():
    # a range of 5 frames for 4 shifts: the frames cannot be numbered
    verdict = judged(along_x(ONE_JUMP, first=3, last=7, movieFrames=7))
    assert verdict.criteria == (Criterion('max frame shift', 12.0, 10.0, REJ_OR),)
    assert verdict.reason == 'max frame shift: 12.00 Å > 10 Å (rule by frame or movie)'
    assert verdict.note == ('frame numbers unknown: aligned frames 3-7 are 5 frames '
                            'but there are 4 shifts')
    assert verdict.metrics['earlyMotion_A'] is None
    assert verdict.metrics['lateMotion_A'] is None


# --------------------------------------------------------------------------
# Dose limits
# --------------------------------------------------------------------------

# 1 e/Å² per frame, cutoff 4 e/Å²: the steps to frames 2-4 are early.
# steps 3, 3, 3, 1, 1, 1: early 9 Å, late 3 Å; the rule accepts it.
EARLY_MOTION = [3.0, 3.0, 3.0, 1.0, 1.0, 1.0]


def test_early_and_late_motion_are_measured_with_no_limit_set():
    verdict = judged(along_x(EARLY_MOTION))
    assert verdict.accepted
    assert verdict.metrics['earlyMotion_A'] == 9.0
    assert verdict.metrics['lateMotion_A'] == 3.0
    assert verdict.metrics['firstThirdMeanStep_A'] == 3.0


def test_an_early_motion_limit_discards_without_a_rule():
    verdict = judged(along_x(EARLY_MOTION), maxEarly=5.0)
    assert verdict.criteria == (Criterion('early motion', 9.0, 5.0),)
    assert verdict.reason == 'early motion: 9.00 Å > 5 Å'
    assert verdict.criterion == 'early motion'


def test_early_and_late_limits_over_together_share_one_sentence():
    verdict = judged(along_x(EARLY_MOTION), maxEarly=5.0, maxLate=2.0)
    assert verdict.criteria == (Criterion('early motion', 9.0, 5.0),
                                Criterion('late motion', 3.0, 2.0))
    assert verdict.reason == 'early motion and late motion: 9.00 Å > 5 Å, 3.00 Å > 2 Å'
    assert verdict.criterion == 'early motion and late motion'


def test_the_rule_comes_first_and_the_dose_limits_follow():
    verdict = judged(along_x(EARLY_MOTION), rule=REJ_FRAME, maxFrameShift=2.5,
                     maxEarly=5.0)
    assert [c.name for c in verdict.criteria] == ['max frame shift', 'early motion']
    assert verdict.reason == ('max frame shift: 3.00 Å > 2.5 Å at frame 2 (rule by '
                              'frame); early motion: 9.00 Å > 5 Å')
    assert verdict.criterion == 'max frame shift'  # what the summary counts


def test_without_dose_information_the_dose_limits_do_not_act_and_the_note_says_so():
    verdict = judged(along_x(EARLY_MOTION, dosePerFrame=0.0), maxEarly=5.0)
    assert verdict.accepted
    assert verdict.note == ('early/late motion not checked: no dose information: '
                            'dose per frame 0.0 is not a positive number')
    assert verdict.metrics['earlyMotion_A'] is None
    assert verdict.metrics['firstThirdMeanStep_A'] == 3.0  # needs no dose


# --------------------------------------------------------------------------
# Invalid alignments, no motion information
# --------------------------------------------------------------------------

@pytest.mark.parametrize('movie, problem', [
    (aligned_movie([0.0, NAN, 1.0]), '1 of 3 frames have NaN or infinite shifts'),
    (aligned_movie([0.0, 1.0, 2.0], [0.0, 1.0]), 'x has 3 shifts but y has 2'),
    (aligned_movie([0.0, 1.0, 20.0], samplingRate=0.0),
     'sampling rate 0.0 is not a positive number'),
], ids=['nan', 'x-y-lengths', 'sampling-rate'])
def test_an_invalid_alignment_is_discarded_with_its_problem_and_no_figures(movie, problem):
    verdict = judged(movie, maxEarly=1.0)
    assert not verdict.accepted and verdict.invalid
    # one criterion, whatever else is set: the dose limits do not add to it
    assert verdict.criteria == (Criterion('invalid alignment', problem=problem),)
    assert verdict.reason == 'invalid alignment: ' + problem
    assert verdict.criterion == 'invalid alignment'
    assert set(verdict.metrics.values()) == {None}
    assert all(math.isnan(v) for v in verdict.autoMetrics().values())
    assert verdict.layout is None and verdict.frames is None


def test_a_movie_without_alignment_is_invalid_with_no_shifts():
    movie = emobj.Movie(location='/data/movie_001.mrcs')
    movie.setSamplingRate(1.0)
    movie.setAcquisition(emobj.Acquisition())
    assert shiftsOf(movie) == ([], [], {'frame_range': None, 'eer': False,
                                        'movie_frames': 0})
    assert judged(movie).reason == 'invalid alignment: no shifts'


@pytest.mark.parametrize('shifts, problem', [([0.0, 0.0, 0.0], 'all shifts are zero'),
                                             ([3.0], 'a single frame')])
def test_no_motion_information_is_accepted_but_flagged_and_noted(shifts, problem):
    # however small the limits
    verdict = judged(aligned_movie(shifts), maxFrameShift=0.1, maxMovieShift=0.1)
    assert verdict.accepted and verdict.flagged and not verdict.invalid
    assert verdict.criteria == () and verdict.reason == ''
    assert verdict.note == 'no motion information: ' + problem
    assert verdict.texts['shape'] == 'still'
    # the automatic thresholds learn nothing from it
    assert all(math.isnan(v) for v in verdict.autoMetrics().values())


def test_auto_metrics_are_the_measured_figures_of_a_checked_movie():
    verdict = judged(along_x(EARLY_MOTION))
    assert verdict.autoMetrics() == {'max frame shift': 3.0, 'total travel': 12.0,
                                     'early motion': 9.0}


# --------------------------------------------------------------------------
# Fixed and automatic criteria together
# --------------------------------------------------------------------------

AUTOMATIC_TRAVEL = Decision(False, (Criterion('total travel', 61.04, 52.1,
                                              automatic=True),))


def test_also_adds_automatic_criteria_after_the_fixed_ones():
    fixed = judged(along_x(ONE_JUMP))
    both = fixed.also(AUTOMATIC_TRAVEL)
    assert not both.accepted
    assert both.criteria == fixed.criteria + AUTOMATIC_TRAVEL.criteria
    assert both.reason == ('max frame shift: 12.00 Å > 10 Å at frame 3 (rule by frame '
                           'or movie); total travel: 61.04 Å > 52.10 Å (automatic '
                           'threshold)')
    assert both.criterion == 'max frame shift'
    # figures, texts and note are the fixed verdict's
    assert both.metrics == fixed.metrics and both.texts == fixed.texts
    assert both.note == fixed.note and both.layout is fixed.layout


def test_an_accepted_movie_discarded_by_an_automatic_threshold_is_counted_as_automatic():
    accepted = judged(along_x(EARLY_MOTION))
    verdict = accepted.also(AUTOMATIC_TRAVEL)
    assert not verdict.accepted
    assert verdict.reason == 'total travel: 61.04 Å > 52.10 Å (automatic threshold)'
    assert verdict.criterion == 'total travel (automatic)'
    assert accepted.accepted  # also() makes a new verdict


def test_also_with_an_accepting_decision_is_the_same_verdict():
    verdict = judged(along_x(ONE_JUMP))
    assert verdict.also(Decision(True)) is verdict


@pytest.mark.parametrize('criteria, key', [
    ((), ''),
    ((Criterion('max frame shift', 12, 10, REJ_AND),
      Criterion('total travel', 48, 45, REJ_AND)), 'max frame shift and total travel'),
    ((Criterion('total travel', 61, 52, automatic=True),), 'total travel (automatic)'),
    ((Criterion('max frame shift', 12, 10, automatic=True),
      Criterion('total travel', 61, 52, automatic=True)),
     'max frame shift and total travel (automatic)'),
    ((Criterion('early motion', 9, 5), Criterion('total travel', 61, 52, automatic=True)),
     'early motion'),
    ((Criterion('invalid alignment', problem='no shifts'),), 'invalid alignment'),
    ((Criterion('no movie', problem='no input movie has id 3 or micName a.mrc'),),
     'no movie'),
])
def test_criterion_key_is_the_criteria_of_the_first_source(criteria, key):
    assert criterion_key(criteria) == key
    assert Verdict(not criteria, criteria).criterion == key


def test_a_micrograph_without_movie_gets_a_no_movie_verdict():
    mic = emobj.Micrograph(location='/data/mic_7.mrc')
    mic.setObjId(7)
    mic.setMicName('orphan.mrc')
    verdict = Verdict.noMovie(mic)
    assert not verdict.accepted
    assert verdict.criteria == (Criterion(
        'no movie', problem='no input movie has id 7 or micName orphan.mrc'),)
    assert verdict.reason == 'no movie: no input movie has id 7 or micName orphan.mrc'
    assert verdict.criterion == 'no movie'
    assert set(verdict.metrics.values()) == {None}


# --------------------------------------------------------------------------
# render_reason and read_reason are inverses
# --------------------------------------------------------------------------

angstroms = st.floats(min_value=0.0, max_value=5e7, allow_nan=False)
frames = st.one_of(st.none(), st.integers(min_value=1, max_value=2000))


@st.composite
def rule_group(draw):
    """The criteria a rule gives: frame and/or movie, as the rule allows."""
    rule = draw(st.sampled_from([REJ_FRAME, REJ_MOVIE, REJ_AND, REJ_OR]))
    frame = Criterion('max frame shift', draw(angstroms), draw(angstroms), rule,
                      frame=draw(frames))
    movie = Criterion('total travel', draw(angstroms), draw(angstroms), rule)
    if rule == REJ_FRAME:
        return [frame]
    if rule == REJ_MOVIE:
        return [movie]
    if rule == REJ_AND:
        return [frame, movie]
    return draw(st.sampled_from([[frame], [movie], [frame, movie]]))


@st.composite
def dose_group(draw):
    names = draw(st.sampled_from([['early motion'], ['late motion'],
                                  ['early motion', 'late motion']]))
    return [Criterion(name, draw(angstroms), draw(angstroms)) for name in names]


@st.composite
def automatic_group(draw):
    names = draw(st.lists(st.sampled_from(['max frame shift', 'total travel',
                                           'early motion']),
                          min_size=1, max_size=3, unique=True))
    return [Criterion(name, draw(angstroms), draw(angstroms), automatic=True)
            for name in names]


def _measured_problem(xshifts, yshifts, rate):
    return measure_motion(xshifts, yshifts, rate).problem


# the problems the modules really write
PROBLEMS = [_measured_problem([0, NAN, 1], [0, 0, 0], 1.0),
            _measured_problem([0, 1, 2], [0, 1], 1.0),
            _measured_problem([], [], 1.0),
            _measured_problem([0, 1], [0, 1], -2.0),
            _measured_problem([0, 1e308, -1e308], [0, 0, 0], 1e10),
            _measured_problem(['a', 'b'], [0, 0], 1.0)]


@st.composite
def problem_group(draw):
    if draw(st.booleans()):
        return [Criterion('invalid alignment', problem=draw(st.sampled_from(PROBLEMS)))]
    micName = draw(st.from_regex(r'[A-Za-z0-9_.-]{1,20}', fullmatch=True))
    return [Criterion('no movie', problem='no input movie has id %d or micName %s'
                      % (draw(st.integers(1, 10**6)), micName))]


@st.composite
def discard_criteria(draw):
    """Criteria from one to four sources, each source once, in any order."""
    sources = draw(st.lists(st.sampled_from([rule_group, dose_group, automatic_group,
                                             problem_group]),
                            min_size=1, max_size=4, unique=True))
    sources = draw(st.permutations(sources))
    return tuple(criterion for source in sources for criterion in draw(source()))


def test_the_problems_of_invalid_alignments_are_real_ones():
    assert all(PROBLEMS) and len(set(PROBLEMS)) == len(PROBLEMS)


@PROPERTY
@given(discard_criteria())
def test_a_reason_read_back_renders_the_same_text(criteria):
    text = render_reason(criteria)
    assert render_reason(read_reason(text)) == text


@PROPERTY
@given(discard_criteria())
def test_a_reason_read_back_gives_the_same_criteria_up_to_rounding(criteria):
    readBack = read_reason(render_reason(criteria))
    assert [(c.name, c.rule, c.automatic, c.frame, c.problem) for c in readBack] == \
        [(c.name, c.rule, c.automatic, c.frame, c.problem) for c in criteria]
    assert criterion_key(readBack) == criterion_key(criteria)
    for original, read in zip(criteria, readBack):
        if original.problem:
            continue
        # values with two decimals (three significant digits from 1e6 Å on),
        # fixed limits as %g, automatic ones as values
        assert read.value == pytest.approx(original.value, rel=5e-3, abs=5e-3)
        assert read.limit == pytest.approx(original.limit, rel=5e-3, abs=5e-3)


def test_an_empty_reason_reads_as_no_criteria():
    assert read_reason('') == ()
    assert render_reason(()) == ''


def test_the_reason_of_the_docstring_reads_back():
    text = ('max frame shift and total travel: 12.77 Å > 10 Å at frame 2, 61.04 Å '
            '> 45 Å (rule by frame or movie); total travel: 61.04 Å > 52.10 Å '
            '(automatic threshold)')
    assert read_reason(text) == (
        Criterion('max frame shift', 12.77, 10.0, REJ_OR, frame=2),
        Criterion('total travel', 61.04, 45.0, REJ_OR),
        Criterion('total travel', 61.04, 52.1, automatic=True))
    assert render_reason(read_reason(text)) == text


# --------------------------------------------------------------------------
# annotate() then verdictOf(): what Continue reads back from an output
# --------------------------------------------------------------------------

JUDGE = MovieJudge(REJ_OR, 10.0, 45.0, maxEarly=5.0)
VERDICTS = {
    'accepted': lambda: JUDGE.judge(along_x([1.0, 0.5, 0.5]))[0],
    'rule': lambda: JUDGE.judge(along_x(BOTH, first=2, movieFrames=6))[0],
    'dose': lambda: JUDGE.judge(along_x(EARLY_MOTION))[0],
    'no-dose': lambda: JUDGE.judge(along_x(EARLY_MOTION, dosePerFrame=0.0))[0],
    'automatic': lambda: JUDGE.judge(along_x(ONE_JUMP))[0].also(AUTOMATIC_TRAVEL),
    'invalid': lambda: JUDGE.judge(aligned_movie([0.0, NAN, 1.0]))[0],
    'flagged': lambda: JUDGE.judge(aligned_movie([0.0, 0.0, 0.0]))[0],
    'frames-unknown': lambda: JUDGE.judge(along_x(ONE_JUMP, first=3, last=7))[0],
}
MOVIES = {
    'accepted': lambda: along_x([1.0, 0.5, 0.5]),
    'rule': lambda: along_x(BOTH, first=2, movieFrames=6),
    'dose': lambda: along_x(EARLY_MOTION),
    'no-dose': lambda: along_x(EARLY_MOTION, dosePerFrame=0.0),
    'automatic': lambda: along_x(ONE_JUMP),
    'invalid': lambda: aligned_movie([0.0, NAN, 1.0]),
    'flagged': lambda: aligned_movie([0.0, 0.0, 0.0]),
    'frames-unknown': lambda: along_x(ONE_JUMP, first=3, last=7),
}


def _stored_and_read_back(tmp_path, movie):
    """The movie as a set file holds it, read back as Continue does."""
    path = os.path.join(str(tmp_path), 'movies.sqlite')
    written = emobj.SetOfMovies(filename=path)
    written.setSamplingRate(movie.getSamplingRate())
    written.append(movie)
    written.write()
    written.close()
    stored = emobj.SetOfMovies(filename=path)
    try:
        return stored.getFirstItem().clone(copyEnable=True)
    finally:
        stored.close()


@pytest.mark.parametrize('case', sorted(VERDICTS))
def test_a_verdict_written_on_a_movie_reads_back_the_same(tmp_path, case):
    verdict, movie = VERDICTS[case](), MOVIES[case]()
    annotate(movie, verdict)
    assert movie.isEnabled() == verdict.accepted
    assert movie._xmipp_discardReason.get() == verdict.reason
    assert movie._xmipp_motionNote.get() == verdict.note
    readBack = JUDGE.verdictOf(_stored_and_read_back(tmp_path, movie))
    assert readBack.accepted == verdict.accepted
    assert readBack.reason == verdict.reason
    assert readBack.criterion == verdict.criterion
    assert [c.name for c in readBack.criteria] == [c.name for c in verdict.criteria]
    assert readBack.metrics == verdict.metrics
    assert readBack.texts == verdict.texts
    assert readBack.note == verdict.note
    assert readBack.flagged == verdict.flagged
    assert readBack.invalid == verdict.invalid
    assert readBack.autoMetrics() == pytest.approx(verdict.autoMetrics(), nan_ok=True)
    # what is not stored is measured again from the shifts
    assert readBack.layout == verdict.layout


def test_a_micrograph_carries_the_motion_figures_and_reason_but_not_the_shape():
    verdict = JUDGE.judge(along_x(BOTH))[0]
    mic = emobj.Micrograph(location='/data/mic_1.mrc')
    annotate(mic, verdict, isMovie=False)
    assert not mic.isEnabled()
    assert mic._xmipp_maxFrameShift.get() == 12.0
    assert mic._xmipp_totalTravel.get() == 48.0
    assert mic._xmipp_discardReason.get() == verdict.reason
    assert mic._xmipp_motionNote.get() == ''
    for attribute in ('_xmipp_shape', '_xmipp_jumpFrames', '_xmipp_passingFrames',
                      '_xmipp_straightness', '_xmipp_driftDirection'):
        assert not hasattr(mic, attribute)


def test_the_table_row_is_the_verdict_in_columns():
    movie = along_x(ONE_JUMP, movieId=4, name='movie_004.mrc')
    verdict = JUDGE.judge(movie)[0]
    row = verdict.tableRow(movie)
    assert row['id'] == 4 and row['micName'] == 'movie_004.mrc'
    assert row['decision'] == 'discarded'
    assert row['reason'] == verdict.reason
    assert row['maxFrameShift_A'] == 12.0 and row['totalTravel_A'] == 14.0
    assert row['jumpFrames'] == '3' and row['shape'] == verdict.texts['shape']


def test_the_shifts_of_an_eer_movie_say_so():
    movie = along_x(ONE_JUMP, extension='.eer', movieFrames=200)
    xshifts, yshifts, numbering = shiftsOf(movie)
    assert list(xshifts) == [0.0, 1.0, 13.0, 14.0] and list(yshifts) == [0.0] * 4
    assert numbering == {'frame_range': (1, 4), 'eer': True, 'movie_frames': 200}


# --------------------------------------------------------------------------
# The limits in words
# --------------------------------------------------------------------------

@pytest.mark.parametrize('rule, words', [
    (REJ_FRAME, 'max frame shift 10 Å'),
    (REJ_MOVIE, 'max movie shift 45 Å'),
    (REJ_AND, 'max frame shift 10 Å, max movie shift 45 Å'),
    (REJ_OR, 'max frame shift 10 Å, max movie shift 45 Å'),
])
def test_limits_name_the_limits_each_rule_uses(rule, words):
    assert MovieJudge(rule, 10.0, 45.0).limits() == words


def test_limits_with_early_and_late_motion_give_the_dose_cutoff():
    assert MovieJudge(REJ_OR, 7.5, 45.0, doseCutoff=4.0, maxEarly=2.0,
                      maxLate=20.0).limits() == (
        'max frame shift 7.5 Å, max movie shift 45 Å, max early motion 2 Å (dose '
        'cutoff 4 e/Å²), max late motion 20 Å (dose cutoff 4 e/Å²)')
    assert MovieJudge(REJ_MOVIE, 10.0, 45.0, doseCutoff=2.5, maxLate=12.5).limits() == \
        'max movie shift 45 Å, max late motion 12.5 Å (dose cutoff 2.5 e/Å²)'
