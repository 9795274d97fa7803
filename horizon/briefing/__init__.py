"""The board briefing pack for a period: the developments that matter and why, stage changes,
readiness by control, supplier changes, the team's decisions and what the board is asked."""
