"""Standalone packaging of movie maxshift (for a Scipion without Xmipp).

The installed `xmipp3` package is assembled in build/standalone from the
project's xmipp3/ and the stand-alone plugin shell (plugin_build/); with
Xmipp installed, build a merged scipion-em-xmipp instead (`./dev xmipp`).
"""
import os
import sys

from setuptools import find_packages, setup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plugin_build'))
from assemble import assemble_standalone  # noqa: E402

TREE = os.path.join('build', 'standalone')
assemble_standalone(TREE)
version = {}
with open(os.path.join('xmipp3', 'maxshift', 'version.py'), encoding='utf-8') as versionFile:
    exec(versionFile.read(), version)
with open('README.md', encoding='utf-8') as readme:
    long_description = readme.read()
with open(os.path.join('plugin_build', 'test-requirements.txt'), encoding='utf-8') as testRequirements:
    test_requires = [line.strip() for line in testRequirements
                     if line.strip() and not line.startswith('#')]

setup(
    name='scipion-em-xmipp3-maxshift',
    version=version['__version__'],
    description='Motion-based quality control of aligned cryo-EM movies '
                '(Scipion protocol "movie maxshift")',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='GPL-3.0-or-later',
    python_requires='>=3.8',
    package_dir={'': TREE},
    packages=find_packages(TREE),
    install_requires=['scipion-pyworkflow>=3.0', 'scipion-em>=3.0', 'numpy>=1.17',
                      'psutil', 'matplotlib'],
    extras_require={'test': test_requires},
    package_data={'xmipp3': ['protocols.conf', 'maxshift/data/*.json',
                             'maxshift/data/*.md', 'templates/*.json.template']},
    entry_points={'pyworkflow.plugin': 'xmipp3 = xmipp3'},
    classifiers=['License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)',
                 'Programming Language :: Python :: 3'],
)
