"""The MLP stack: data, the shared evaluation protocol, the networks and their training engines.

Everything here may load TensorFlow; the rest of ``study`` (spaces, ledger, strategies'
registry, runner, records) must not, so that listing, planning and training-free problems
start without it.
"""
