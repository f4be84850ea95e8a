"""Hostile and broken submissions: small overlays of the reference (or the stubs) that attack the grader.

:mod:`hostile.cases` holds the catalogue (each case: what it attacks, how it is built, what its
results must show); :mod:`hostile.classroom` lays them out as a class folder, beside the controls
their scores are bounded by and the canaries that prove the grader still stands after them.
"""
