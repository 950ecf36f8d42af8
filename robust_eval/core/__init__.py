"""The foundation layer: errors, resources, data, the victim, console streams and version records.

`attacks`, `trainers` and the rest of `robust_eval` import these modules; these modules import none of them.
"""
