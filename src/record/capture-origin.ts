import os from 'node:os';
import { TOOL_VERSION } from '../version.js';
import { CAPTURE_FORMAT, CAPTURE_VERSION, type CaptureHeader, SAMPLE_FIELDS } from './capture-format.js';

/** What every capture's header says of itself, whoever writes it: the format, the tool, the host. */
export function captureOrigin(): Pick<
  CaptureHeader,
  'format' | 'version' | 'tool' | 'hostname' | 'kernel' | 'fields'
> {
  return {
    format: CAPTURE_FORMAT,
    version: CAPTURE_VERSION,
    tool: `headroom ${TOOL_VERSION}`,
    hostname: os.hostname(),
    kernel: os.release(),
    fields: [...SAMPLE_FIELDS],
  };
}
