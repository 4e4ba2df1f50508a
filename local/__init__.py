"""The local twin and the demo: Warden's real template, workflow and handlers on moto."""
