"""The test suite: mirrors the package (tests/<folder>/test_<module>.py); helpers in support/."""
