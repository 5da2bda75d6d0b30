"""Packaging for the xmipp3 movie maxshift plugin (no binaries, no GPU)."""
import re

from setuptools import find_packages, setup

with open('xmipp3/version.py', encoding='utf-8') as version_file:
    __version__ = re.search(r"__version__ = '([^']+)'", version_file.read()).group(1)

with open('README.md', encoding='utf-8') as readme:
    long_description = readme.read()

setup(
    name='scipion-em-xmipp3-maxshift',
    version=__version__,
    description='Motion-based quality control of aligned cryo-EM movies '
                '(Scipion protocol "movie maxshift")',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='GPL-3.0-or-later',
    python_requires='>=3.8',
    packages=find_packages(),
    py_modules=['scipion_headless'],
    install_requires=['scipion-pyworkflow', 'scipion-em', 'numpy'],
    extras_require={'test': ['pytest', 'hypothesis', 'matplotlib']},
    package_data={'xmipp3': ['protocols.conf', 'data/*.json', 'data/*.md',
                             'templates/*.json.template']},
    entry_points={'pyworkflow.plugin': 'xmipp3 = xmipp3'},
    classifiers=['License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)',
                 'Programming Language :: Python :: 3'],
)
