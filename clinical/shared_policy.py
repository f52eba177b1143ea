"""One copy of each distinct policy per worker process, shared by the journeys that use it.

Every journey carries its own policy (its input and its continue-as-new state hold it), and a
policy with its instrument registry is about 120 KiB of Python objects. A worker holding
thousands of journeys in its cache would keep as many identical copies; sharing one copy per
content keeps a cached journey at about half the memory. Policies are frozen models, so no
journey can change the copy the others use, and sharing changes no decision (replay included).
"""

import hashlib
import threading

from models.policy import Policy

# Distinct policies a process sees are few (versions in use); the bound only guards a leak.
MAX_SHARED = 64

_shared: dict[str, Policy] = {}
_lock = threading.Lock()


def shared(policy: Policy) -> Policy:
    """The process's copy of a policy equal to ``policy`` (``policy`` itself the first time)."""
    key = hashlib.sha256(policy.model_dump_json().encode()).hexdigest()
    with _lock:
        found = _shared.get(key)
        if found is not None:
            return found
        if len(_shared) >= MAX_SHARED:
            _shared.pop(next(iter(_shared)))
        _shared[key] = policy
        return policy
