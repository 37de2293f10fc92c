/**
 * The path of `name`, a plain file or directory name, in `dir`, a directory the kernel layer located
 * (absolute and already normal: a cgroup's, a mount's, /proc's). path.join would normalize the whole
 * path again, character by character, and a start of `run` joins dozens: enough for Node 22 and 24 to
 * hand Node's path code to their optimizing compilers within a `run -- true` (on Node 22 about 300 page
 * faults and 16 ms of CPU more, measured side by side).
 */
export function fileIn(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}
