"""When a stream has ended: what movie maxshift does about the protocol that
produces its input, from the states it observes.

Pure Python (no Scipion imports), so the policy is tested with a fake clock.
A QC step in a stream is a relay: its outputs are closed when, and only
when, its input has ended for good, that is when the producer has
*finished*. A producer that failed, was aborted or whose process is gone may
be continued at any time (seconds or hours later), so by default it is
waited for; a grace time, when set, restores the old behaviour of finishing
with what it produced.
"""
from collections import namedtuple

RUNNING = 'running'    # active (launched, scheduled, running, interactive)
FINISHED = 'finished'  # everything it will produce is in its outputs
DOWN = 'down'          # failed, aborted, saved, or its process is gone

# After the producer has been down this long, maxshift polls once a minute
# (while still watching the producer every polling interval, so it speeds up
# as soon as the producer is continued) and repeats its waiting message.
SLOW_AFTER_SECONDS = 600.0
SLOW_POLL_SECONDS = 60.0
REMIND_SECONDS = 600.0

# What one poll does: final closes the outputs and finishes (after reading
# what is new: once the producer has finished, that is everything it made);
# messages are (level, text) for the log; waiting is the sentence for the
# summary ('' when not waiting).
Decision = namedtuple('Decision', 'final messages waiting')


def _seconds(value):
    if value >= 3600:
        return '%.1f h' % (value / 3600.0)
    if value >= 120:
        return '%.0f min' % (value / 60.0)
    return '%.0f s' % value


class UpstreamWatch:
    """Decides, poll after poll, whether the producer's stream has ended.

    name: the producer's run name; grace: seconds after which a producer
    that is down is given up on (None or 0: wait for ever).
    """

    def __init__(self, name, pollInterval, grace=None,
                 slowAfter=SLOW_AFTER_SECONDS, slowPoll=SLOW_POLL_SECONDS,
                 remind=REMIND_SECONDS):
        self.name = name
        self.pollInterval = pollInterval
        self.grace = grace or None
        self.slowAfter, self.slowPoll, self.remind = slowAfter, slowPoll, remind
        self.downSince = None  # when it was first seen down, this time
        self.description = None  # e.g. 'failed at 14:03'
        self.remindedAt = None

    def waitingSentence(self, description):
        if self.grace:
            return ('Waiting up to %s for %s (%s) to be continued; then the '
                    'outputs are closed with what it produced.'
                    % (_seconds(self.grace), self.name, description))
        return ('Waiting for %s (%s) to be continued; stop this protocol to '
                'close the outputs.' % (self.name, description))

    def update(self, state, description, now):
        """The decision for a poll that observed the producer in state."""
        messages = []
        wasDown = self.downSince is not None
        if state in (RUNNING, FINISHED):
            if wasDown:
                messages.append(('info', '%s is %s again after %s down: '
                                 'following it.' % (self.name, state,
                                                    _seconds(now - self.downSince))))
            self.downSince = self.description = None
            return Decision(state == FINISHED, messages, '')
        if not wasDown:
            self.downSince = self.remindedAt = now
            self.description = description
            messages.append(('warning', self.waitingSentence(description)))
        elif description != self.description or now - self.remindedAt >= self.remind:
            self.description, self.remindedAt = description, now
            messages.append(('warning', 'Still down for %s. %s' % (
                _seconds(now - self.downSince), self.waitingSentence(description))))
        if self.grace and now - self.downSince >= self.grace:
            messages.append(('warning', '%s has been down for %s (grace %s): '
                             'finishing with what it produced. If it is '
                             'continued later, this protocol does not follow it.'
                             % (self.name, _seconds(now - self.downSince),
                                _seconds(self.grace))))
            return Decision(True, messages, '')
        return Decision(False, messages, self.waitingSentence(self.description))

    def pollDelay(self, now):
        """Seconds from the start of a poll to the next one."""
        if self.downSince is not None and now - self.downSince >= self.slowAfter:
            return max(self.pollInterval, self.slowPoll)
        return self.pollInterval
