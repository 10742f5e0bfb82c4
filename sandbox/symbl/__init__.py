"""The Symbl.ai stand-in: Auth, Async, Job, Conversation and Trackers-management APIs (contract:
/work/shared/design/symbl-api.md)."""

from sandbox.symbl.app import build_symbl_app

__all__ = ["build_symbl_app"]
