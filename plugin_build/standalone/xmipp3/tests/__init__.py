"""Tests of the plugin that run with pyworkflow's test runner."""
