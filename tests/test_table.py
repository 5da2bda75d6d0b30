"""The per-movie CSV table: round trip, appends, and what a reader sees while
the protocol is writing."""
import math

import pytest

from xmipp3.maxshift import table


def test_rows_written_and_appended_read_back_with_their_types(tmp_path):
    path = str(tmp_path / 'motion.csv')
    table.write_table(path, [table.row(1, 'a.mrc', 1.5, 20.25, True)])
    table.append_rows(path, [table.row(2, 'b.mrc', None, None, False,
                                       'invalid alignment: no shifts')])
    rows = table.read_table(path)
    noDose = dict(dict.fromkeys(table.DOSE_METRICS + table.SHAPE_METRICS),
                  **dict.fromkeys(table.FRAME_TEXT, ''))
    assert rows == [
        dict(noDose, id=1, micName='a.mrc', maxFrameShift_A=1.5, totalTravel_A=20.25,
             decision='accepted', reason='', note=''),
        dict(noDose, id=2, micName='b.mrc', maxFrameShift_A=None, totalTravel_A=None,
             decision='discarded', reason='invalid alignment: no shifts', note='')]


def test_shape_and_frame_columns_round_trip(tmp_path):
    path = str(tmp_path / 'motion.csv')
    table.write_table(path, [table.row(7, 'g.mrc', 12.77, 60.0, False, straightness=0.5,
                                       driftDirection_deg=35.0, firstThirdShare=0.75,
                                       largestStepShare=0.25, shape='early motion',
                                       jumpFrames='2 17', passingFrames='3-40')])
    tableRow = table.read_table(path)[0]
    assert [tableRow[column] for column in table.SHAPE_METRICS + table.FRAME_TEXT] == [
        0.5, 35.0, 0.75, 0.25, 'early motion', '2 17', '3-40']


def test_dose_metrics_round_trip_and_unknown_columns_are_refused(tmp_path):
    path = str(tmp_path / 'motion.csv')
    table.write_table(path, [table.row(1, 'a.mrc', 1.5, 20.0, True, earlyMotion_A=3.25,
                                       lateMotion_A=16.75, firstThirdMeanStep_A=1.125)])
    tableRow = table.read_table(path)[0]
    assert (tableRow['earlyMotion_A'], tableRow['lateMotion_A'],
            tableRow['firstThirdMeanStep_A']) == (3.25, 16.75, 1.125)
    with pytest.raises(ValueError):
        table.row(1, 'a', 1.0, 2.0, True, bogus_A=1.0)


def test_a_table_of_an_older_version_without_dose_columns_still_reads(tmp_path):
    path = tmp_path / 'old.csv'
    path.write_text('id,micName,maxFrameShift_A,totalTravel_A,decision,reason,note\n'
                    '4,x.mrc,1.5,9,accepted,,\n')
    tableRow = table.read_table(str(path))[0]
    assert tableRow['totalTravel_A'] == 9.0 and tableRow['earlyMotion_A'] is None
    assert math.isnan(table.as_arrays([tableRow])['earlyMotion_A'][0])


def test_a_reason_with_commas_and_quotes_survives(tmp_path):
    path = str(tmp_path / 'motion.csv')
    reason = 'max frame shift and total travel: 12.00 Å > 10 Å, "x" (rule by frame or movie)'
    table.write_table(path, [table.row(3, 'c,d.mrc', 12.0, 50.0, False, reason)])
    assert table.read_table(path)[0]['reason'] == reason
    assert table.read_table(path)[0]['micName'] == 'c,d.mrc'


def test_a_reader_never_sees_a_half_written_last_row(tmp_path):
    path = str(tmp_path / 'motion.csv')
    table.write_table(path, [table.row(1, 'a.mrc', 1.0, 2.0, True)])
    with open(path, 'a', encoding='utf-8') as tableFile:
        tableFile.write('2,b.mrc,3.5')  # the protocol is mid-append
    assert [r['id'] for r in table.read_table(path)] == [1]


def test_rewriting_replaces_the_whole_table(tmp_path):
    path = str(tmp_path / 'motion.csv')
    table.write_table(path, [table.row(i, 'm%d' % i, 1.0, 2.0, True) for i in range(5)])
    table.write_table(path, [table.row(9, 'm9', 1.0, 2.0, True)])
    assert [r['id'] for r in table.read_table(path)] == [9]
    assert not (tmp_path / 'motion.csv.partial').exists()


def test_arrays_mark_unknown_metrics_as_nan_and_decisions_as_booleans():
    arrays = table.as_arrays([table.row(1, 'a', 1.0, 2.0, True),
                              table.row(2, 'b', None, None, False, 'invalid alignment: x')])
    assert list(arrays['accepted']) == [True, False]
    assert arrays['maxFrameShift_A'][0] == 1.0 and math.isnan(arrays['maxFrameShift_A'][1])
    assert list(arrays['id']) == [1, 2]


def assert_same_arrays(found, expected):
    assert found.keys() == expected.keys()
    for column, values in expected.items():
        if column in table.NUMERIC:
            assert found[column].dtype == float
            assert list(map(repr, found[column])) == list(map(repr, values)), column
        else:
            assert list(found[column]) == list(values), column


@pytest.mark.parametrize('text', [
    None,  # rows written by the protocol, one half-written
    'id,micName,maxFrameShift_A,totalTravel_A,decision,reason,note\n'
    '4,x.mrc,1.5,9,accepted,,\n5,"y,z.mrc",,,discarded,"a, ""b""",\n',  # an older table
    'id,micName,maxFrameShift_A,totalTravel_A,decision,reason,note\n'])  # no rows yet
def test_the_arrays_read_row_by_row_are_those_of_the_rows(tmp_path, text):
    path = tmp_path / 'motion.csv'
    if text is None:
        table.write_table(str(path), [
            table.row(1, 'a.mrc', 1.5, 20.25, True, earlyMotion_A=3.0, straightness=0.5,
                      shape='early motion'),
            table.row(2, 'b,c.mrc', None, None, False, 'invalid alignment: no shifts'),
            table.row(3, 'd.mrc', 12.0, 50.0, False, 'max frame shift: 12.00 Å > 10 Å',
                      jumpFrames='2 17', passingFrames='3-40')])
        with open(path, 'a', encoding='utf-8') as tableFile:
            tableFile.write('4,e.mrc,3.5')  # the protocol is mid-append
    else:
        path.write_text(text, encoding='utf-8')
    assert_same_arrays(table.read_arrays(str(path)),
                       table.as_arrays(table.read_table(str(path))))
