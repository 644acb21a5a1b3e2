import fs from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (µs) a process has used so far: the sum of its threads' on-CPU time from `/proc/<pid>/task/<tid>/schedstat`
 * (nanosecond resolution; Node's threads live as long as the process), or user + system from `/proc/<pid>/stat`
 * (10 ms ticks) where schedstat is missing.
 */
export function cpuMicros(pid: number): number {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1000;
  } catch {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  }
}

/** Peak resident set size (MiB) of a process so far (VmHWM). */
export function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}
