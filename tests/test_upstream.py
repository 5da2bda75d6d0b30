"""The policy for the producer of the stream (xmipp3.maxshift.upstream), with
a fake clock: the outputs close only when the producer has finished, unless
a grace time is set; waiting is said, slowed down and undone."""
import time
from types import SimpleNamespace

from xmipp3.maxshift import upstream
from xmipp3.maxshift.upstream import DOWN, FINISHED, RUNNING, UpstreamWatch

NAME = 'align movies'


def watch(**options):
    return UpstreamWatch(NAME, pollInterval=1.0, **options)


def test_only_a_finished_producer_ends_the_stream():
    policy = watch()
    assert policy.update(RUNNING, 'running', 0.0) == (False, [], '')
    decision = policy.update(FINISHED, 'finished', 1.0)
    assert decision.final and decision.waiting == ''


def test_a_producer_down_for_hours_is_waited_for_with_the_sentence_to_act_on():
    policy = watch()
    first = policy.update(DOWN, 'failed at 14:03', 0.0)
    sentence = ('Waiting for align movies (failed at 14:03) to be continued; '
                'stop this protocol to close the outputs.')
    assert not first.final
    assert first.waiting == sentence
    assert first.messages == [('warning', sentence)]
    for now in range(1, 3 * 3600, 7):
        decision = policy.update(DOWN, 'failed at 14:03', float(now))
        assert not decision.final and decision.waiting == sentence
    back = policy.update(RUNNING, 'running', 3 * 3600.0)
    assert not back.final and back.waiting == ''
    assert back.messages[0][1].startswith('align movies is running again after 3.0 h')
    assert policy.update(FINISHED, 'finished', 3 * 3600.0 + 5).final


def test_polls_slow_down_after_a_while_and_speed_up_when_the_producer_returns():
    policy = watch()
    assert policy.pollDelay(0.0) == 1.0
    policy.update(DOWN, 'aborted at 09:00', 0.0)
    assert policy.pollDelay(upstream.SLOW_AFTER_SECONDS - 1) == 1.0
    assert policy.pollDelay(upstream.SLOW_AFTER_SECONDS) == upstream.SLOW_POLL_SECONDS
    policy.update(RUNNING, 'running', upstream.SLOW_AFTER_SECONDS + 30)
    assert policy.pollDelay(upstream.SLOW_AFTER_SECONDS + 31) == 1.0


def test_the_log_is_reminded_rarely_and_told_when_the_reason_changes():
    policy = watch()
    logged = [m for now in range(0, 1800) for m in
              policy.update(DOWN, 'its process 42 is gone, seen at 14:03', float(now)).messages]
    assert len(logged) == 3  # at 0, 600 and 1200 s
    assert logged[1][1].startswith('Still down for 10 min.')
    changed = policy.update(DOWN, 'failed at 14:05', 1800.0)
    assert 'failed at 14:05' in changed.messages[0][1]
    assert 'failed at 14:05' in changed.waiting


def test_a_grace_time_finishes_with_what_was_produced_once_it_has_passed():
    policy = watch(grace=30.0)
    first = policy.update(DOWN, 'failed at 14:03', 100.0)
    assert not first.final
    assert first.waiting.startswith('Waiting up to 30 s for align movies')
    assert not policy.update(DOWN, 'failed at 14:03', 129.0).final
    last = policy.update(DOWN, 'failed at 14:03', 130.0)
    assert last.final
    assert 'does not follow it' in last.messages[-1][1]


def test_a_producer_back_before_the_grace_restarts_the_grace():
    policy = watch(grace=30.0)
    policy.update(DOWN, 'failed at 14:03', 0.0)
    policy.update(RUNNING, 'running', 20.0)
    policy.update(DOWN, 'failed at 14:04', 40.0)
    assert not policy.update(DOWN, 'failed at 14:04', 60.0).final
    assert policy.update(DOWN, 'failed at 14:04', 70.0).final


def test_zero_grace_means_wait():
    policy = watch(grace=0.0)
    policy.update(DOWN, 'failed at 14:03', 0.0)
    assert not policy.update(DOWN, 'failed at 14:03', 1e6).final


class _Producer:
    """Says that the producer's run.db changed at the n-th look."""

    def __init__(self, movesAt):
        self.looks, self.movesAt = 0, movesAt

    def changed(self):
        self.looks += 1
        return self.looks >= self.movesAt


def _protocol(delay, producer, interval=0.05):
    """What the protocol's sleep between polls uses of it."""
    return SimpleNamespace(pollInterval=SimpleNamespace(get=lambda: interval),
                           _watch=SimpleNamespace(pollDelay=lambda now: delay),
                           _producer=producer)


def test_slow_polls_look_at_the_producer_every_interval_and_wake_when_it_moves():
    from xmipp3.protocols.protocol_movie_max_shift import XmippProtMovieMaxShift
    producer = _Producer(movesAt=3)
    XmippProtMovieMaxShift._sleepUntilNextPoll(_protocol(60.0, producer), time.time())
    assert producer.looks == 3  # woke at the third look, not after 60 s
    producer = _Producer(movesAt=1)
    XmippProtMovieMaxShift._sleepUntilNextPoll(_protocol(0.05, producer), time.time())
    assert producer.looks == 0  # polls at the usual interval need no look
