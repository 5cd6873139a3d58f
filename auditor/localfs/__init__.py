"""Facts about local storage for the rules to judge: volume encryption at rest and exposure.

`VolumeProbe.for_path` says whether the volume under a file encrypts it; `ExposureProbe.exposures`
lists who besides the owner can reach it. Both only read, and cache per device or directory.
"""

from auditor.localfs.exposure import ExposureProbe
from auditor.localfs.volumes import VolumeEncryption, VolumeProbe

__all__ = ["ExposureProbe", "VolumeEncryption", "VolumeProbe"]
