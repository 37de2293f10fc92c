/**
 * Just enough of a Dockerfile reader for the tests that hold deploy/'s Dockerfiles to what the chroot
 * acceptance runs: stages, their COPY, RUN, ENV, WORKDIR, ENTRYPOINT and CMD, the global ARGs and the
 * comments (where the build and run commands are documented).
 */
export interface DockerCopy {
  /** The stage or image of --from, if any. */
  from?: string;
  source: string;
  dest: string;
  line: string;
}

/** A stage's COPY and RUN instructions in their order, for a test that replays the stage. */
export type DockerStep =
  | { kind: 'COPY'; from?: string; sources: string[]; dest: string }
  | { kind: 'RUN'; command: string };

export interface DockerStage {
  /** The FROM image, variables unexpanded. */
  from: string;
  name?: string;
  copies: DockerCopy[];
  runs: string[];
  steps: DockerStep[];
  env: Record<string, string>;
  /** The last WORKDIR, relative ones resolved against the one before. */
  workdir?: string;
  /** Exec form as is; shell form as /bin/sh -c, as Docker runs it. */
  entrypoint?: string[];
  cmd?: string[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  args: Record<string, string | undefined>;
  stages: DockerStage[];
  /** Every comment line, without its '#'. */
  comments: string;
}

function execOrShell(text: string): string[] {
  if (text.startsWith('[')) return JSON.parse(text) as string[];
  return ['/bin/sh', '-c', text];
}

/** Logical lines: comments apart, backslash continuations joined. */
function instructions(text: string): { lines: string[]; comments: string[] } {
  const lines: string[] = [];
  const comments: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) {
      comments.push(line.slice(1));
      continue;
    }
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole) lines.push(whole);
  }
  if (pending.trim()) lines.push(pending.trim());
  return { lines, comments };
}

export function parseDockerfile(text: string): Dockerfile {
  const { lines, comments } = instructions(text);
  const result: Dockerfile = { args: {}, stages: [], comments: comments.join('\n') };
  for (const line of lines) {
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`not a Dockerfile instruction: ${line}`);
    const keyword = (match[1] ?? '').toUpperCase();
    const rest = match[2] ?? '';
    const stage = result.stages.at(-1);
    if (keyword === 'FROM') {
      const [from = '', as, name] = rest.split(/\s+/);
      result.stages.push({
        from,
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
        copies: [],
        runs: [],
        steps: [],
        env: {},
      });
      continue;
    }
    if (keyword === 'ARG') {
      if (stage) continue;
      const [key = '', ...value] = rest.split('=');
      result.args[key] = value.length > 0 ? value.join('=') : undefined;
      continue;
    }
    if (!stage) throw new Error(`${keyword} before any FROM: ${line}`);
    switch (keyword) {
      case 'COPY': {
        const words = rest.split(/\s+/);
        const flags = words.filter((word) => word.startsWith('--'));
        const paths = words.filter((word) => !word.startsWith('--'));
        const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
        const dest = paths.pop() ?? '';
        for (const source of paths) stage.copies.push({ ...(from ? { from } : {}), source, dest, line });
        stage.steps.push({ kind: 'COPY', ...(from ? { from } : {}), sources: paths, dest });
        break;
      }
      case 'RUN':
        stage.runs.push(rest);
        stage.steps.push({ kind: 'RUN', command: rest });
        break;
      case 'ENV': {
        // KEY=VALUE pairs (no quoting here), or the old KEY VALUE form.
        if (/^\S+=/.test(rest)) {
          for (const pair of rest.split(/\s+/)) {
            const at = pair.indexOf('=');
            stage.env[pair.slice(0, at)] = pair.slice(at + 1);
          }
        } else {
          const [key = '', ...value] = rest.split(/\s+/);
          stage.env[key] = value.join(' ');
        }
        break;
      }
      case 'WORKDIR':
        stage.workdir = rest.startsWith('/') ? rest : `${stage.workdir ?? ''}/${rest}`;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execOrShell(rest);
        break;
      case 'CMD':
        stage.cmd = execOrShell(rest);
        break;
      default:
        // EXPOSE, LABEL, USER and the like: nothing the tests look at.
        break;
    }
  }
  return result;
}
