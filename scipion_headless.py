"""Headless Scipion, set up before pyworkflow is imported.

pyworkflow reads its configuration from the environment when it is first
imported, so call `configure()` before importing pyworkflow, pwem or xmipp3:

    import scipion_headless
    scipion_headless.configure('/path/to/scipion-root')
    project = scipion_headless.open_project('my-project', '/path/to/projects')
"""
import os
import sys


def configure(root):
    """Point Scipion's home and user data at `root`, with a local host config.

    Launched protocols run in subprocesses that inherit this environment.
    """
    if 'pyworkflow' in sys.modules:
        raise RuntimeError('configure() must run before pyworkflow is imported')
    root = os.path.abspath(root)
    home = os.path.join(root, 'scipion-home')
    os.makedirs(os.path.join(home, 'config'), exist_ok=True)
    os.makedirs(os.path.join(root, 'user-data', 'projects'), exist_ok=True)
    os.environ.update({
        'SCIPION_HOME': home,
        'SCIPION_USER_DATA': os.path.join(root, 'user-data'),
        'SCIPION_DOMAIN': 'pwem',
        'SCIPION_NOTIFY': 'False',  # no usage report: machines may be offline
        'SCIPION_PYTHON': sys.executable,  # protocols run in this environment
    })
    from pyworkflow.protocol import HostConfig
    hosts = os.path.join(home, 'config', 'hosts.conf')
    if not os.path.exists(hosts):
        HostConfig.writeBasic(hosts)
    return root


def open_project(name, location):
    """Load the project `name` under `location`, creating it if needed, and
    make its folder the working directory (as Scipion does)."""
    import pyworkflow as pw
    from pyworkflow.project import Manager, Project
    location = os.path.abspath(location)
    path = os.path.join(location, name)
    if os.path.exists(os.path.join(path, 'project.sqlite')):
        project = Project(pw.Config.getDomain(), path)
        project.load()
    else:
        os.makedirs(location, exist_ok=True)
        project = Manager().createProject(name, location=location)
    os.chdir(project.path)
    return project
