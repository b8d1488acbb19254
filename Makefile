# Two commands for a newcomer: `make demo` and `make test`. Each sets up what
# is missing first (.venv/, build/, install/) through scripts/setup.sh.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# DDS discovery stays on this machine.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
ENV := source install/setup.bash &&
PYTEST_ARGS ?=

.PHONY: help setup demo test lint clean

help:
	@echo "make demo   start planner + diagnostics, send the sample tasks, print plans, stop"
	@echo "make test   run every test (unit, node over DDS, launch, style)"
	@echo "make setup  only create .venv/ and build with colcon"
	@echo "make lint   style checks and the layout rules (imports, file sizes)"
	@echo "make clean  remove build/ install/ log/ (keeps .venv/)"

setup:
	@bash scripts/setup.sh

demo: setup
	@$(ENV) .venv/bin/python -m rag_planner.ros.demo

test:
	@bash scripts/setup.sh --with-train
	@$(ENV) bash scripts/run_tests.sh $(PYTEST_ARGS)

lint: setup
	@$(ENV) .venv/bin/python -m pytest -q test/test_flake8.py test/test_pep257.py test/test_layout.py

clean:
	rm -rf build install log
