import type { Capture } from '../../record/capture-reader.js';
import { bySeverity, type Finding } from '../finding.js';
import type { Summary } from '../summarize.js';

/** Every finding the capture supports, most severe first. */
export function findFindings(capture: Capture, summary: Omit<Summary, 'findings'>): Finding[] {
  const findings: Finding[] = [];
  void capture;
  void summary;
  return findings.sort(bySeverity);
}
