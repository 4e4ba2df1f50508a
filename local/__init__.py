"""The local twin and the demo: Warden's real template, workflow and handlers on moto."""

import sys
from pathlib import Path

_LAYER = Path(__file__).resolve().parent.parent / "layers" / "warden"
if str(_LAYER) not in sys.path:
    sys.path.insert(0, str(_LAYER))  # the warden library, as the Lambda layer ships it
