# Gate probe helper (t46_rebound.py, t47_rebound_join.py): names held in module globals that another module rebinds,
# looked up on an object of unknown type (a parameter).
NAME = 'map_kernel'
PREFIX = 'map'
def by_name(obj):
    return getattr(obj, NAME)(1)
def by_join(obj):
    return getattr(obj, PREFIX + '_kernel')(1)
