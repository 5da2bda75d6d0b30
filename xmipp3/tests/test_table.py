"""The per-movie CSV table: round trip, appends, and what a reader sees while
the protocol is writing."""
import math

from xmipp3 import table


def test_rows_written_and_appended_read_back_with_their_types(tmp_path):
    path = str(tmp_path / 'motion.csv')
    table.write_table(path, [table.row(1, 'a.mrc', 1.5, 20.25, True)])
    table.append_rows(path, [table.row(2, 'b.mrc', None, None, False,
                                       'invalid alignment: no shifts')])
    rows = table.read_table(path)
    assert rows == [
        {'id': 1, 'micName': 'a.mrc', 'maxFrameShift_A': 1.5, 'totalTravel_A': 20.25,
         'decision': 'accepted', 'reason': '', 'note': ''},
        {'id': 2, 'micName': 'b.mrc', 'maxFrameShift_A': None, 'totalTravel_A': None,
         'decision': 'discarded', 'reason': 'invalid alignment: no shifts', 'note': ''}]


def test_a_reason_with_commas_and_quotes_survives(tmp_path):
    path = str(tmp_path / 'motion.csv')
    reason = 'max frame shift and total travel: 12.00 A > 10 A, "x" (rule by frame or movie)'
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
