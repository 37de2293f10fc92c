import type { Capture } from '../record/capture-reader.js';
import { profileAt, topSites } from './profile-at.js';
import type { ProfileMode, ProfileRuntime } from './profile-format.js';
import { type SiteRow, siteRow } from './profile-table.js';

/** The summary's allocation-profile part (`headroom summary --json`, field "profile"). */
export interface SummaryProfile {
  /** The time of the highest cgroup sample, whose snapshots are used, ms since the start. */
  timeMs: number;
  /** Profiled bytes at that time, over all processes. */
  totalBytes: number;
  /** The processes with a snapshot then. */
  processes: Array<{ pid: number; runtime: ProfileRuntime; mode: ProfileMode; bytes: number }>;
  /** Largest first. */
  topSites: SiteRow[];
  /** Notes the profilers wrote (refused snapshots and the like); `headroom stats` lists them. */
  notes: number;
}

const TOP_SITES = 5;

/** Undefined when the capture has no profile at all. */
export function summarizeProfile(capture: Capture): SummaryProfile | undefined {
  if (capture.profiles.length === 0) return undefined;
  const view = profileAt(capture, 'peak');
  return {
    timeMs: view.timeMs,
    totalBytes: view.totalBytes,
    processes: view.parts.map((part) => ({
      pid: part.pid,
      runtime: part.profile.info.runtime,
      mode: part.profile.info.mode,
      bytes: part.snapshot.totalBytes,
    })),
    topSites: topSites(view, 'bytes', TOP_SITES).map((site) => siteRow(site, view.totalBytes, 'size')),
    notes: capture.profiles.reduce((sum, profile) => sum + profile.notes.length, 0),
  };
}
