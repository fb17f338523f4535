"""The models live workers serve (GET /models), the choice of one for a submission, and health."""
