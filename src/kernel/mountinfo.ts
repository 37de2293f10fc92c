import { kernelFileError } from './errors.js';

export interface Mount {
  /** st_dev of the filesystem ("0:52"): bind mounts of one filesystem share it. */
  majorMinor: string;
  /** The path inside the mounted filesystem that appears at mountPoint ("/" unless a bind or namespace). */
  root: string;
  mountPoint: string;
  readOnly: boolean;
  fsType: string;
  superOptions: string[];
}

/** /proc/PID/mountinfo (proc(5)): fields, optional fields, "-", fs type, source, super options. */
export function parseMountinfo(text: string, file: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash === -1 || dash + 3 >= fields.length) {
      throw kernelFileError(file, `malformed line "${line.slice(0, 80)}"`);
    }
    const options = (fields[5] ?? '').split(',');
    mounts.push({
      majorMinor: fields[2] ?? '',
      root: unescapeOctal(fields[3] ?? ''),
      mountPoint: unescapeOctal(fields[4] ?? ''),
      readOnly: options.includes('ro'),
      fsType: fields[dash + 1] ?? '',
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

/** The kernel escapes space, tab, newline and backslash in paths as \ooo. */
function unescapeOctal(text: string): string {
  // Most paths have none: replace() would still run the expression over each (a few KiB per start).
  if (!text.includes('\\')) return text;
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export interface CgroupMembership {
  hierarchyId: number;
  controllers: string[];
  path: string;
}

/** /proc/PID/cgroup: "hierarchy-ID:controller-list:cgroup-path"; v2 is "0::path". */
export function parseProcCgroup(text: string, file: string): CgroupMembership[] {
  const result: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first === -1 || second === -1) throw kernelFileError(file, `malformed line "${line.slice(0, 80)}"`);
    const hierarchyId = Number(line.slice(0, first));
    if (!Number.isInteger(hierarchyId)) throw kernelFileError(file, `malformed line "${line.slice(0, 80)}"`);
    const controllers = line.slice(first + 1, second);
    result.push({
      hierarchyId,
      controllers: controllers ? controllers.split(',') : [],
      path: line.slice(second + 1),
    });
  }
  return result;
}
