"""The default training texts of the VoC classifier (written for kizuna; not the evaluation set)."""
