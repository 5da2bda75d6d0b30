"""What the protocol says about a run, in-process (no launch): the summary
and the methods text users paste into papers are rendered from the run's
record of verdicts and from the criteria in force, and name exactly those."""
import json

import pytest

from xmipp3.maxshift.motion import Criterion
from xmipp3.maxshift.tally import SessionTally
from xmipp3.maxshift.verdict import Verdict
from xmipp3.protocols import XmippProtMovieMaxShift as MaxShift

ACCEPTED = Verdict(True)
BY_FRAME = Verdict(False, [Criterion('max frame shift', 12.5, 10.0, MaxShift.REJ_OR, frame=3)])
BY_BOTH = Verdict(False, [Criterion('max frame shift', 12.5, 10.0, MaxShift.REJ_OR),
                          Criterion('total travel', 60.0, 45.0, MaxShift.REJ_OR)])
BY_AUTO = Verdict(False, [Criterion('total travel', 40.0, 38.2, automatic=True)])
FLAGGED = Verdict(True, note='no motion information: a single frame', flagged=True)


def protocolWith(project, verdicts, **params):
    """A maxshift protocol (not launched) whose record holds these verdicts."""
    protocol = project.newProtocol(MaxShift, **params)
    session = SessionTally()
    for number, verdict in enumerate(verdicts, 1):
        session.add('movie_%d.mrc' % number, verdict)
    protocol.motionStats.set(json.dumps(session.record()))
    return protocol


@pytest.mark.parametrize('rule, limits', [
    (MaxShift.REJ_FRAME, 'max frame shift 10 Å'),
    (MaxShift.REJ_MOVIE, 'max movie shift 45 Å'),
    (MaxShift.REJ_AND, 'max frame shift 10 Å, max movie shift 45 Å'),
    (MaxShift.REJ_OR, 'max frame shift 10 Å, max movie shift 45 Å')])
def test_methods_name_the_rule_and_only_the_limits_it_uses(project, rule, limits):
    protocol = protocolWith(project, [ACCEPTED, BY_FRAME, ACCEPTED], rejType=rule)
    assert protocol._methods() == [
        'Aligned movies were screened by their global motion with the rule "%s" '
        '(%s; limits inclusive). 1 of 3 movies were discarded.'
        % (MaxShift.REJ_TYPES[rule], limits)]


def test_methods_add_the_optional_limits_and_automatic_thresholds_in_force(project):
    protocol = protocolWith(project, [ACCEPTED, BY_AUTO], rejType=MaxShift.REJ_MOVIE,
                            maxMovieShift=50.0, maxLateMotion=20.0, doseCutoff=3.0,
                            useAutoThresholds=True, autoWarmup=30, autoK=5.0)
    assert protocol._methods() == [
        'Aligned movies were screened by their global motion with the rule '
        '"by whole movie" (max movie shift 50 Å, max late motion 20 Å (dose cutoff '
        '3 e/Å²); limits inclusive) and automatic thresholds (max frame shift or '
        'total travel over median + 5 sigma of the movies accepted so far, sigma '
        'from the MAD, after a warm-up of 30 movies). 1 of 2 movies were discarded.']


def test_methods_say_nothing_before_a_movie_is_classified(project):
    assert project.newProtocol(MaxShift)._methods() == []


def test_summary_counts_each_discard_under_its_first_criteria(project):
    protocol = protocolWith(project, [ACCEPTED, BY_FRAME, BY_BOTH, BY_AUTO, BY_FRAME,
                                      FLAGGED])
    summary = protocol._summary()
    assert summary[:5] == [
        'Rule: by frame or movie (max frame shift 10 Å, max movie shift 45 Å)',
        'Movies processed: 6, accepted: 2, discarded: 4',
        '  discarded by max frame shift: 2',
        '  discarded by max frame shift and total travel: 1',
        '  discarded by total travel (automatic): 1']
    assert summary[-1] == ('WARNING: 1 movies have no motion information (single '
                           'frame or all-zero shifts) and were accepted unchecked: '
                           'movie_6.mrc')


def test_summary_before_any_movie_states_the_rule(project):
    assert project.newProtocol(MaxShift, rejType=MaxShift.REJ_FRAME,
                               maxEarlyMotion=2.0)._summary() == [
        'Rule: by frame (max frame shift 10 Å, max early motion 2 Å (dose cutoff '
        '4 e/Å²))', 'No movie classified yet.']
