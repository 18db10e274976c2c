"""``python -m bench``: imgflow's image code vs Pillow naive vs sharp, interleaved in one run (see README)."""
