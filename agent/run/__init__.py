"""The bench run (``weee run``): profile, journal, steps and the runner.

Python API::

    from agent.run import load_profile, run_bench, PlainView
    outcome = run_bench(load_profile("profile.toml"), view=PlainView(), unattended=True)
    outcome.verdict.verdict      # certified | recycling | maintenance | failed | interrupted
    outcome.verdict.exit_code    # agent.errors exit codes
"""

from agent.run.profile import Profile, ProfileError, load_profile, parse_profile
from agent.run.runner import RunOutcome, run_bench, summary
from agent.run.view import PlainView, RunView, Verdict

__all__ = [
    "PlainView",
    "Profile",
    "ProfileError",
    "RunOutcome",
    "RunView",
    "Verdict",
    "load_profile",
    "parse_profile",
    "run_bench",
    "summary",
]
