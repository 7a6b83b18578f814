"""dlc-recurrent: a temporally aware (ConvLSTM) student for DeepLabCut projects."""

from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent

setup(
    name="dlc-recurrent",
    version="0.1.0",
    description=(
        "Train a ConvLSTM-LEAP student on a DeepLabCut teacher's predictions so pose tracking "
        "survives occlusion; outputs DeepLabCut-format predictions."
    ),
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["dlc_recurrent", "dlc_recurrent.*"]),
    python_requires=">=3.10",
    install_requires=[
        "deeplabcut>=3.0,<3.1",
        "tensorflow>=2.16",
        "tf-keras>=2.16",
        "tensorboard",
        "numpy",
        "pandas",
        "scipy",
        "ruamel.yaml",
        "tables",
        "opencv-python-headless",
        "matplotlib",
        "tqdm",
    ],
    extras_require={
        "test": ["pytest"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
    },
    entry_points={"console_scripts": ["dlc-recurrent=dlc_recurrent.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Topic :: Scientific/Engineering :: Image Recognition",
        "Intended Audience :: Science/Research",
    ],
)
