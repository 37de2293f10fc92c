import { type ErrorCode, HeadroomError } from '../errors.js';
import { describeErrno, errnoCode } from '../kernel/errors.js';
import {
  CAPTURE_FORMAT,
  CAPTURE_VERSION,
  type CaptureEvent,
  type CaptureHeader,
  type EndRecord,
  type FileRecord,
  type GuardAction,
  type GuardKnob,
  type GuardOrder,
  SAMPLE_FIELDS,
  type TmpfsRecord,
} from './capture-format.js';

// Validation of single capture records: each decoder returns undefined for a record it cannot trust.

/** The codes of a file that cannot be read as a capture at all. */
export type CaptureErrorCode = Extract<
  ErrorCode,
  'E_CAPTURE_READ' | 'E_NOT_A_CAPTURE' | 'E_CAPTURE_DAMAGED' | 'E_CAPTURE_VERSION'
>;

/** The file cannot be read as a capture at all; the message is one line and names the file. */
export function captureError(
  file: string,
  code: CaptureErrorCode,
  reason: string,
  errno?: string,
): HeadroomError {
  return new HeadroomError(
    code,
    `${oneLine(file)}: ${reason}`,
    errno ? { path: file, errno } : { path: file },
  );
}

/** The file could not be opened or read (E_CAPTURE_READ), the reason in words. */
export function captureReadError(file: string, error: unknown): HeadroomError {
  return captureError(
    file,
    'E_CAPTURE_READ',
    `cannot read: ${describeErrno(error, { ENOENT: 'no such file' })}`,
    errnoCode(error),
  );
}

/** @param complete false when the line had no newline after it: headroom stopped while writing it. */
export function decodeHeader(text: string | undefined, file: string, complete: boolean): CaptureHeader {
  if (text === undefined || text.trim() === '') {
    throw text === undefined
      ? notACapture(file)
      : captureError(file, 'E_NOT_A_CAPTURE', 'first line is empty, not a headroom capture');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    if (text.includes(CAPTURE_FORMAT)) {
      throw captureError(
        file,
        'E_CAPTURE_DAMAGED',
        complete
          ? 'capture header is damaged'
          : 'capture header is incomplete (headroom stopped while writing it)',
      );
    }
    throw notACapture(file);
  }
  if (!isObject(value) || value.format !== CAPTURE_FORMAT) throw notACapture(file);
  const version = value.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw captureError(
      file,
      'E_CAPTURE_DAMAGED',
      `capture has an invalid format version (${oneLine(JSON.stringify(version))})`,
    );
  }
  if (version > CAPTURE_VERSION) {
    throw captureError(
      file,
      'E_CAPTURE_VERSION',
      `capture format version ${version} is newer than this headroom reads (version ${CAPTURE_VERSION}); upgrade headroom`,
    );
  }
  const problem = headerProblem(value);
  if (problem) throw captureError(file, 'E_CAPTURE_DAMAGED', `capture header is damaged (${problem})`);
  const header = value as unknown as CaptureHeader;
  // Older or hand-made headers may lack the optional parts; give them one shape.
  if (typeof header.component !== 'string') header.component = null;
  if (!Array.isArray(header.fields)) header.fields = [...SAMPLE_FIELDS];
  return header;
}

/** The header fields readers rely on; undefined when all are sound. */
function headerProblem(header: Record<string, unknown>): string | undefined {
  if (!isNumber(header.startMs)) return 'startMs';
  if (!isStringArray(header.command)) return 'command';
  const cgroup = header.cgroup;
  if (!isObject(cgroup)) return 'cgroup';
  if (cgroup.version !== 1 && cgroup.version !== 2) return 'cgroup.version';
  if (typeof cgroup.path !== 'string') return 'cgroup.path';
  if (cgroup.mode !== 'own' && cgroup.mode !== 'observe') return 'cgroup.mode';
  const limit = header.limit;
  if (!isObject(limit)) return 'limit';
  if (limit.bytes !== null && !isNumber(limit.bytes)) return 'limit.bytes';
  if (typeof limit.source !== 'string') return 'limit.source';
  return undefined;
}

export function decodeEvent(kind: unknown, data: unknown, timeMs: number): CaptureEvent | undefined {
  if (!isObject(data)) return undefined;
  switch (kind) {
    case 'oom-kill': {
      const { count, victims } = data;
      if (!isNumber(count) || !Array.isArray(victims)) return undefined;
      const decoded: Array<{ pid: number; name: string }> = [];
      for (const victim of victims) {
        if (!isObject(victim) || !isNumber(victim.pid) || typeof victim.name !== 'string') return undefined;
        decoded.push({ pid: victim.pid, name: victim.name });
      }
      return { kind, timeMs, count, victims: decoded };
    }
    case 'limit-hit': {
      const { count, total } = data;
      if (!isNumber(count) || !isNumber(total)) return undefined;
      return { kind, timeMs, count, total };
    }
    case 'limit-change': {
      const { limit, high } = data;
      if (!isNumberOrNull(limit) || !isNumberOrNull(high)) return undefined;
      return { kind, timeMs, limit, high };
    }
    case 'note':
      return typeof data.message === 'string' ? { kind, timeMs, message: data.message } : undefined;
    case 'guard-knobs': {
      const knobs = decodeList(data.knobs, decodeKnob);
      if (!knobs) return undefined;
      // Captures written before the order was recorded have none.
      if (data.order === undefined) return { kind, timeMs, knobs };
      const order = decodeOrder(data.order);
      return order ? { kind, timeMs, knobs, order } : undefined;
    }
    case 'guard-action': {
      const { action, pid, message } = data;
      if (!isGuardAction(action) || !isNumberOrNull(pid) || typeof message !== 'string') return undefined;
      return { kind, timeMs, action, pid, message };
    }
    case 'files': {
      const files = decodeList(data.files, decodeFileRecord);
      const tmpfs = decodeList(data.tmpfs, decodeTmpfsRecord);
      return files && tmpfs ? { kind, timeMs, files, tmpfs } : undefined;
    }
    default:
      return undefined;
  }
}

function decodeList<T>(value: unknown, decode: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list: T[] = [];
  for (const item of value) {
    const decoded = decode(item);
    if (decoded === undefined) return undefined;
    list.push(decoded);
  }
  return list;
}

const RUNTIMES: ReadonlySet<unknown> = new Set(['node', 'go', 'java', 'python']);
const GUARD_ACTIONS: ReadonlySet<unknown> = new Set(['memory-error', 'snapshot', 'term', 'kill', 'reclaim']);

function isGuardAction(value: unknown): value is GuardAction {
  return GUARD_ACTIONS.has(value);
}

function decodeKnob(value: unknown): GuardKnob | undefined {
  if (!isObject(value)) return undefined;
  const { runtime, setting, bytes } = value;
  if (!RUNTIMES.has(runtime) || typeof setting !== 'string' || !isNumber(bytes)) return undefined;
  return { runtime: runtime as GuardKnob['runtime'], setting, bytes };
}

function decodeOrder(value: unknown): GuardOrder | undefined {
  if (!isObject(value)) return undefined;
  const { graceful, thresholdBytes, first, message } = value;
  if (
    typeof graceful !== 'string' ||
    !isNumber(thresholdBytes) ||
    (first !== 'graceful' && first !== 'knob') ||
    typeof message !== 'string'
  ) {
    return undefined;
  }
  return { graceful, thresholdBytes, first, message };
}

function decodeFileRecord(value: unknown): FileRecord | undefined {
  if (!isObject(value)) return undefined;
  const { path, sizeBytes, residentBytes, tmpfs, deleted, pids } = value;
  if (
    typeof path !== 'string' ||
    !isNumber(sizeBytes) ||
    !isNumberOrNull(residentBytes) ||
    typeof tmpfs !== 'boolean' ||
    typeof deleted !== 'boolean' ||
    !Array.isArray(pids) ||
    !pids.every(isNumber)
  ) {
    return undefined;
  }
  return { path, sizeBytes, residentBytes, tmpfs, deleted, pids: pids as number[] };
}

function decodeTmpfsRecord(value: unknown): TmpfsRecord | undefined {
  if (!isObject(value)) return undefined;
  const { mountPoint, usedBytes, sizeBytes } = value;
  if (typeof mountPoint !== 'string' || !isNumber(usedBytes) || !isNumber(sizeBytes)) return undefined;
  return { mountPoint, usedBytes, sizeBytes };
}

export function decodeEnd(value: unknown): EndRecord | undefined {
  if (!isObject(value)) return undefined;
  const { exitCode, signal, status, durationMs, peakBytes, oomKills, limitHits } = value;
  if (
    !isNumberOrNull(exitCode) ||
    (signal !== null && typeof signal !== 'string') ||
    !isNumber(status) ||
    !isNumber(durationMs) ||
    !isNumberOrNull(peakBytes) ||
    !isNumber(oomKills) ||
    !isNumber(limitHits)
  ) {
    return undefined;
  }
  return { exitCode, signal, status, durationMs, peakBytes, oomKills, limitHits };
}

/**
 * The numbers of a sample line from `from` on, or undefined if any is not a number. Extra trailing
 * columns (fields a newer writer appended) are ignored; missing ones make the line unusable.
 */
export function numbers(record: unknown[], from: number): number[] | undefined {
  const needed = from === 0 ? SAMPLE_FIELDS.length + 1 : SAMPLE_FIELDS.length;
  if (record.length - from < needed) return undefined;
  const out: number[] = new Array(needed);
  for (let i = 0; i < needed; i++) {
    const value = record[from + i];
    if (!isNumber(value)) return undefined;
    out[i] = value;
  }
  return out;
}

export function notACapture(file: string): HeadroomError {
  return captureError(file, 'E_NOT_A_CAPTURE', 'not a headroom capture (first line is not a capture header)');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isNumberOrNull(value: unknown): value is number | null {
  return value === null || isNumber(value);
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Messages are printed as one line; a file name may hold anything. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\r'));
}
