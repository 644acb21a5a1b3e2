import { nowMs } from './pool';
import { cpuMicros } from './proc-stats';

/**
 * Samples a process's CPU from /proc every `intervalMs` (the reads cost the bench, not the sampled process), so a
 * window can be cut afterwards at a time known only later: the last `ActivityTaskCompleted`, not the moment the
 * bench heard of it through the worker's backlog.
 */
export class CpuSampler {
  private readonly samples: Array<[atMs: number, cpuUs: number]> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
  }

  private take(): void {
    this.samples.push([nowMs(), cpuMicros(this.pid)]);
  }

  stop(): void {
    clearInterval(this.timer);
    this.take();
  }

  /** CPU (µs) and wall time (ms) from the first sample to the first sample taken at or after `untilMs`. */
  until(untilMs: number): { cpuUs: number; ms: number } {
    const [startAt, startCpu] = this.samples[0]!;
    const end = this.samples.find(([at]) => at >= untilMs) ?? this.samples[this.samples.length - 1]!;
    return { cpuUs: end[1] - startCpu, ms: end[0] - startAt };
  }
}
