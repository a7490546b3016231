"""Running everything on one machine: `remediator up`, the embedded Redis, the demo."""
