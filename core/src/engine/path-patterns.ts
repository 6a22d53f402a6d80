/**
 * Exclude and include patterns of a task: a pattern with a `/` is matched against the whole
 * path, one without against the entry's name (so `*.tmp` and `node_modules` work anywhere).
 * Dot files are matched like any other.
 */
import picomatch from 'picomatch';

export type PathPatterns = (fullPath: string, name: string) => boolean;

/** Whether any of `globs` matches the entry; null when there are none. */
export function compilePatterns(globs: readonly string[] | undefined): PathPatterns | null {
  if (!globs?.length) return null;
  const matchers = globs.map((g) => ({ full: g.includes('/'), m: picomatch(g, { dot: true }) }));
  return (fullPath, name) => matchers.some((x) => x.m(x.full ? fullPath : name));
}
