import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  selfMs: number;
  share: number;
}

/** Where a frame's code lives: a package, the bridge's own code, Node's internals or a V8 pseudo-frame. */
function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /packages\/([^/]+)\//.exec(url);
  return own ? `@temporal-kafka-bridge/${own[1]}` : url;
}

/** Self time by function and by owner (package), largest first, from a `node --cpu-prof` profile. */
export function summarizeProfile(file: string, top = 15): { byFunction: ProfileLine[]; byOwner: ProfileLine[] } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    const name = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const owner = ownerOf(url, functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
    total += us;
  });
  const lines = (map: Map<string, number>): ProfileLine[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / total }));
  return { byFunction: lines(byFunction), byOwner: lines(byOwner) };
}

export function formatProfile(summary: ReturnType<typeof summarizeProfile>): string {
  const rows = (lines: ProfileLine[]): string =>
    lines
      .map((l) => `  ${(l.share * 100).toFixed(1).padStart(5)} %  ${l.selfMs.toFixed(0).padStart(7)} ms  ${l.name}`)
      .join('\n');
  return `self time by owner:\n${rows(summary.byOwner)}\nself time by function:\n${rows(summary.byFunction)}`;
}

/** The newest `.cpuprofile` in `dir`, if any. */
export function newestProfile(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0];
}
