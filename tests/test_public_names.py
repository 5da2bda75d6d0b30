"""The names that users' workflows, scripts and dashboards rely on, written
here as literals and checked against what a real run writes: the output
sets' names on the protocol and their files, the item attributes in the sets'
files, the CSV header and values, the files in extra/, the rule names and
their numbers. A constant compared with itself would let a typo through;
renaming any of these breaks saved workflows and scripts, so a change here
must be deliberate (and said in the README)."""
import csv
import json
import os
import sqlite3

import pytest

from maxshift_checks import DESIGNED, assert_split_consistent, run_static
from xmipp3.maxshift import table
from xmipp3.maxshift.batch import output_items
from xmipp3.protocols import XmippProtMovieMaxShift as MaxShift

# output set -> its file in the run folder (bench/run_bench.py reads the files)
OUTPUT_SETS = {
    'outputMovies': 'movies_accepted.sqlite',
    'outputMoviesDiscarded': 'movies_discarded.sqlite',
    'outputMicrographs': 'micrographs_accepted.sqlite',
    'outputMicrographsDiscarded': 'micrographs_discarded.sqlite',
    'outputMicrographsDoseWeighted': 'micrographs_dw_accepted.sqlite',
    'outputMicrographsDoseWeightedDiscarded': 'micrographs_dw_discarded.sqlite',
}
ITEM_ATTRIBUTES = {'_xmipp_maxFrameShift', '_xmipp_totalTravel', '_xmipp_earlyMotion',
                   '_xmipp_lateMotion', '_xmipp_firstThirdMeanStep',
                   '_xmipp_discardReason', '_xmipp_motionNote'}
# the frame-level figures, on the movies only
MOVIE_ATTRIBUTES = ITEM_ATTRIBUTES | {
    '_xmipp_straightness', '_xmipp_driftDirection', '_xmipp_firstThirdShare',
    '_xmipp_largestStepShare', '_xmipp_shape', '_xmipp_jumpFrames', '_xmipp_passingFrames'}
CSV_COLUMNS = ['id', 'micName', 'maxFrameShift_A', 'totalTravel_A', 'earlyMotion_A',
               'lateMotion_A', 'firstThirdMeanStep_A', 'straightness', 'driftDirection_deg',
               'firstThirdShare', 'largestStepShare', 'decision', 'reason', 'note', 'shape',
               'jumpFrames', 'passingFrames']
CSV_DECISIONS = {'accepted', 'discarded'}
EXTRA_FILES = {'movie_motion.csv', 'motion_summary.png', 'auto_thresholds.json',
               'frame_profile.csv', 'run_record.jsonl'}
# the run record's events and the fields of a poll (the benchmark reads them)
RUN_EVENTS = ['step started', 'poll', 'summary plot', 'step finished']
POLL_FIELDS = {'event', 'time', 'poll', 'final', 'newMovies', 'newMicrographs',
               'classified', 'seconds', 'automatic'}
# rejType value -> rule name (the form's choices, in saved workflows by number)
RULES = {0: 'by frame', 1: 'by whole movie', 2: 'by frame and movie',
         3: 'by frame or movie'}


@pytest.fixture(scope='module')
def run(project, tmp_path_factory):
    """A finished run that writes every output, attribute and file: the
    designed movies (with dose, so every metric has a value) under the rule
    by frame or movie, with automatic thresholds."""
    folder = tmp_path_factory.mktemp('public-names')

    def write(trajectories):
        path = folder / 'designed.json'
        path.write_text(json.dumps(trajectories))
        return str(path)
    sim, maxshift = run_static(project, write, [DESIGNED[i][0] for i in sorted(DESIGNED)],
                               simParams={'dosePerFrame': 1.0}, rejType=3,
                               useAutoThresholds=True, autoWarmup=10)
    assert_split_consistent(sim, maxshift)
    return maxshift


def test_the_six_output_sets_have_their_names_and_files(run):
    written = {name: os.path.basename(output.getFileName())
               for name, output in run.iterOutputAttributes()}
    assert written == OUTPUT_SETS
    assert len(set(OUTPUT_SETS.values())) == 6
    folder = os.path.join(run.getProject().path, run.getWorkingDir())
    assert {name for name in os.listdir(folder) if name.endswith('.sqlite')} \
        >= set(OUTPUT_SETS.values())
    assert set(MaxShift._possibleOutputs) == set(OUTPUT_SETS)


def _stored_attributes(path):
    """The item attribute labels a set's file stores (its Classes table)."""
    connection = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        return {label for label, in connection.execute(
            'SELECT label_property FROM Classes')}
    finally:
        connection.close()


@pytest.mark.parametrize('name', sorted(OUTPUT_SETS))
def test_every_item_of_every_output_carries_the_xmipp_attributes(run, name):
    path = os.path.join(run.getProject().path, getattr(run, name).getFileName())
    expected = MOVIE_ATTRIBUTES if name.startswith('outputMovies') else ITEM_ATTRIBUTES
    stored = {label for label in _stored_attributes(path) if label.startswith('_xmipp_')}
    assert stored == expected
    items = output_items(run, name)
    assert items, name
    for item in items:
        assert {attr for attr, _ in item.getAttributes()
                if attr.startswith('_xmipp_')} == expected
        reason = item.getAttributeValue('_xmipp_discardReason')
        assert (reason == '') == item.isEnabled() == ('Discarded' not in name)
    # with dose information every metric has a value
    assert all(items[0].getAttributeValue(attr) is not None for attr in ITEM_ATTRIBUTES
               if attr not in ('_xmipp_discardReason', '_xmipp_motionNote'))


def test_the_motion_table_has_its_columns_and_decisions(run):
    path = run._getExtraPath('movie_motion.csv')
    assert run.getMotionTablePath() == path
    with open(path, newline='', encoding='utf-8') as tableFile:
        header, *rows = list(csv.reader(tableFile))
    assert header == CSV_COLUMNS
    assert len(rows) == len(DESIGNED)
    assert {row[CSV_COLUMNS.index('decision')] for row in rows} == CSV_DECISIONS
    assert [r['id'] for r in table.read_table(path)] == sorted(DESIGNED)


def test_the_files_for_dashboards_are_in_extra(run):
    assert set(os.listdir(run._getExtraPath())) >= EXTRA_FILES
    assert run.getSummaryPlotPath() == run._getExtraPath('motion_summary.png')


def test_the_run_record_has_each_poll_as_data_and_the_log_words_it(run):
    with open(run._getExtraPath('run_record.jsonl'), encoding='utf-8') as record:
        entries = [json.loads(line) for line in record]
    events = [e['event'] for e in entries]
    assert (events[0], events[-1]) == (RUN_EVENTS[0], RUN_EVENTS[-1])
    assert set(events) == set(RUN_EVENTS)
    polls = [e for e in entries if e['event'] == 'poll']
    assert set(polls[-1]) == POLL_FIELDS
    assert polls[-1]['final'] and polls[-1]['classified'] == len(DESIGNED)
    assert sum(p['newMovies'] for p in polls) == len(DESIGNED)
    with open(run.getStdoutLog(), encoding='utf-8') as log:
        assert 'Poll %d (final): %d new movies' % (polls[-1]['poll'],
                                                  polls[-1]['newMovies']) in log.read()


def test_rule_names_and_numbers_are_those_of_saved_workflows(run):
    assert (MaxShift.REJ_FRAME, MaxShift.REJ_MOVIE, MaxShift.REJ_AND,
            MaxShift.REJ_OR) == (0, 1, 2, 3)
    assert dict(enumerate(MaxShift.REJ_TYPES)) == RULES
    assert dict(enumerate(run.getParam('rejType').choices)) == RULES
    # the run launched with rejType=3 names its rule in its summary and reasons
    assert run.rejType.get() == 3
    assert run.summary()[0].startswith('Rule: by frame or movie (')
    reasons = [movie.getAttributeValue('_xmipp_discardReason')
               for movie in output_items(run, 'outputMoviesDiscarded')]
    assert reasons and all('(rule by frame or movie)' in r for r in reasons
                           if not r.endswith('(automatic threshold)'))
