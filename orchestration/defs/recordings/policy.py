"""What the drop folder admits beyond a well-formed manifest: media roots, media URL hosts, a sane date window.

Split from ``manifest.py`` because these checks depend on the deployment (its configuration, the clock, DNS)
while a manifest's parse depends only on the file: the parse is cached per file, these are re-applied on
every scan, so a recording dated tomorrow is admitted once tomorrow comes and a host's DNS is re-checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.defs.recordings.manifest import URL_KINDS, ManifestHeader, RecordingManifest
from orchestration.netpolicy import Resolver, UrlPolicy, UrlRejected, system_resolver
from orchestration.settings import DEFAULT_MAX_FUTURE_HOURS, DropFolderSettings, MediaHostSettings


@dataclass(frozen=True)
class InputPolicy:
    """The deployment's confinement rules for manifests (see docs/drop-folder.md, "What is admitted")."""

    # Folders outside the drop folder that media paths may resolve into (resolved, symlinks followed).
    media_roots: tuple[Path, ...] = ()
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)
    # Start times before this (aware) are rejected: no partition exists for them.
    earliest_start: datetime | None = None
    # Start times more than this far past "now" are rejected: a clock or data-entry error, not a recording.
    max_future: timedelta = timedelta(hours=DEFAULT_MAX_FUTURE_HOURS)
    # With a resolver, every address a media URL's host resolves to is checked (None: the URL as written).
    resolver: Resolver | None = None

    def window_problem(self, manifest: RecordingManifest | ManifestHeader, now: datetime) -> str | None:
        start = manifest.start_time
        if self.earliest_start is not None and start < self.earliest_start:
            return (
                f"start_time {start.isoformat()} is before the first partition "
                f"({self.earliest_start.date().isoformat()})"
            )
        if start > now + self.max_future:
            hours = self.max_future.total_seconds() / 3600
            return f"start_time {start.isoformat()} is more than {hours:g} h in the future"
        return None

    def url_problem(
        self, manifest: RecordingManifest | ManifestHeader, resolved: dict[str, str | None]
    ) -> str | None:
        """The resolving half of the URL check (the written half ran at parse time); memoised per host."""
        if manifest.media_kind not in URL_KINDS or self.resolver is None:
            return None
        host = urlsplit(manifest.media_ref).netloc
        if host not in resolved:
            try:
                self.url_policy.check(manifest.media_ref, self.resolver)
                resolved[host] = None
            except UrlRejected as exc:
                resolved[host] = f"media.url {exc}"
        return resolved[host]

    def problem(
        self, manifest: RecordingManifest, now: datetime, resolved: dict[str, str | None]
    ) -> str | None:
        """Why ``manifest`` is not admitted now, or None. ``resolved``: the caller's per-scan host memo."""
        return self.window_problem(manifest, now) or self.url_problem(manifest, resolved)


def split_list(value: str | None) -> list[str]:
    """A comma-separated environment value as a list (empty entries dropped)."""
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def default_allowed_media_hosts() -> list[str]:
    """``$CONVO_INTEL_ALLOWED_MEDIA_HOSTS``, else the sandbox's host (so the demo's loopback media URLs work)."""
    settings = MediaHostSettings()
    if settings.allowed_media_hosts_csv is not None:
        return split_list(settings.allowed_media_hosts_csv)
    sandbox = urlsplit(settings.sandbox_url)
    return [sandbox.netloc] if sandbox.netloc else []


def default_media_roots() -> list[str]:
    return split_list(DropFolderSettings().media_roots_csv)


def default_max_future_hours() -> float:
    return DropFolderSettings().max_future_hours


def build_policy(
    *,
    media_roots: Iterable[str],
    allowed_media_hosts: Iterable[str],
    earliest_start_date: str | None,
    max_future_hours: float,
    resolve_media_hosts: bool,
    timezone: object = UTC,
) -> InputPolicy:
    earliest = None
    if earliest_start_date:
        day = datetime.fromisoformat(earliest_start_date)
        earliest = day if day.tzinfo is not None else day.replace(tzinfo=timezone)  # type: ignore[arg-type]
    return InputPolicy(
        media_roots=tuple(Path(r).resolve() for r in media_roots),
        url_policy=UrlPolicy.allowing(allowed_media_hosts),
        earliest_start=earliest,
        max_future=timedelta(hours=max_future_hours),
        resolver=system_resolver if resolve_media_hosts else None,
    )
