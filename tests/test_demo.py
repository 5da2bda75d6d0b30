"""The README's first command: the demo runs on its own and says what it found."""
import os
import re
import subprocess
import sys

DEMO = os.path.join(os.path.dirname(__file__), '..', 'demo', 'run_demo.py')


def test_demo_streams_the_real_trajectories_and_reports(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith('SCIPION_')}
    result = subprocess.run([sys.executable, DEMO, str(tmp_path / 'demo')],
                            capture_output=True, text=True, timeout=300,
                            env=environment, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    counts = re.search(r'accepted (\d+), discarded (\d+) of (\d+) movies', result.stdout)
    assert counts, result.stdout
    accepted, discarded, total = map(int, counts.groups())
    assert total == 266 and accepted + discarded == total and discarded >= 1
    assert 'TS_01_039_-60_0' in result.stdout  # the failed 755 Å jump is listed
    project = re.search(r'Project: (\S+)', result.stdout).group(1)
    assert os.path.exists(os.path.join(project, 'project.sqlite'))
    extra = re.search(r'Per-movie table and summary plot: (\S+)', result.stdout).group(1)
    assert {'movie_motion.csv', 'motion_summary.png'} <= set(os.listdir(extra))
    assert 'Open it in Scipion\'s window: ./dev gui %s\n' % project in result.stdout
