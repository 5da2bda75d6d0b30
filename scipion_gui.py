"""Open Scipion's project window on a project: `./dev gui [PROJECT]`.

PROJECT is a project folder; by default the newest demo project
(./demo-output/projects/maxshift-demo-*). The window is pyworkflow's own
project app (`python -O -m pyworkflow.apps.pw_project NAME`, what Scipion's
`scipion3 project NAME` runs), with the environment Scipion needs:
SCIPION_HOME, SCIPION_USER_DATA (where the project manager finds projects by
name) and SCIPION_DOMAIN=pwem, as `scipion_headless.configure` sets them for
the folder the project was made in (a demo folder, the tests' folder), or for
./demo-output for a project from elsewhere, which is then linked into its
user data. -O matters: without it the app relaunches itself through the
`scipion` launcher module, which only a full Scipion installation has.
"""
import glob
import os
import sys

import scipion_headless

DEMO_FOLDER = 'demo-output'


def project_window_command(projectName):
    """The command that opens the project window (run it with the
    environment that prepare() sets)."""
    return [sys.executable, '-O', '-m', 'pyworkflow.apps.pw_project', projectName]


def newest_demo_project(folder=DEMO_FOLDER):
    """The most recent demo project under folder, or None."""
    projects = glob.glob(os.path.join(folder, 'projects', 'maxshift-demo-*',
                                      'project.sqlite'))
    return os.path.dirname(max(projects, key=os.path.getmtime)) if projects else None


def scipion_root(projectPath):
    """The folder scipion_headless.configure() made for this project: the
    nearest one above it with scipion-home/ and user-data/; None if none."""
    folder = os.path.dirname(os.path.abspath(projectPath))
    while folder != os.path.dirname(folder):
        if all(os.path.isdir(os.path.join(folder, name))
               for name in ('scipion-home', 'user-data')):
            return folder
        folder = os.path.dirname(folder)
    return None


def prepare(projectPath):
    """Set the environment for the project's window; return its name (the
    project manager opens projects by name, from the user data)."""
    projectPath = os.path.abspath(projectPath)
    if not os.path.exists(os.path.join(projectPath, 'project.sqlite')):
        raise SystemExit('%s is not a Scipion project (no project.sqlite)'
                         % projectPath)
    scipion_headless.configure(scipion_root(projectPath) or DEMO_FOLDER)
    name = os.path.basename(projectPath)
    link = os.path.join(os.environ['SCIPION_USER_DATA'], 'projects', name)
    if not os.path.lexists(link):
        os.symlink(projectPath, link)
    elif os.path.realpath(link) != os.path.realpath(projectPath):
        raise SystemExit('Another project is called %s in %s: rename one of them'
                         % (name, os.path.dirname(link)))
    return name


def main(arguments):
    if len(arguments) > 1 or arguments[:1] in (['-h'], ['--help']):
        print(__doc__)
        return 0 if arguments else 2
    projectPath = arguments[0] if arguments else newest_demo_project()
    if projectPath is None:
        raise SystemExit('No demo project yet: run ./dev demo first, or give '
                         'a project folder: ./dev gui PROJECT')
    if not os.environ.get('DISPLAY') and sys.platform.startswith('linux'):
        raise SystemExit('Scipion\'s window needs a display: DISPLAY is not set')
    name = prepare(projectPath)
    print('Opening %s in Scipion (SCIPION_USER_DATA=%s, SCIPION_DOMAIN=%s)'
          % (os.path.realpath(projectPath), os.environ['SCIPION_USER_DATA'],
             os.environ['SCIPION_DOMAIN']), flush=True)
    command = project_window_command(name)
    os.execv(command[0], command)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
