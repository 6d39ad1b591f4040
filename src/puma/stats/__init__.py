"""Statistics: point metrics, the resampling engine, paired tests and calibration.

Everything here is pure NumPy over arrays; nothing reads files.
"""
