/** Base class of every error thrown by the bench and the soak. */
export class BenchError extends Error {
  public override readonly name: string = 'BenchError';
  /** A bench run is not retried by itself: a failure is reported and the run exits non-zero. */
  public readonly retryable = false;
}

/** Thrown when a child process of the bench (worker, bridge, naive consumer) exits before it was ready or done. */
export class ChildExitedError extends BenchError {
  public override readonly name = 'ChildExitedError';
  constructor(
    public readonly child: string,
    public readonly code: number | null,
    public readonly signal: NodeJS.Signals | null,
    options?: { cause?: unknown },
  ) {
    super(`${child} exited ${signal ? `on signal ${signal}` : `with code ${code}`}`, options);
  }
}

/** Thrown by the soak when some activities were not completed, or completed with a wrong result. */
export class SoakIncompleteError extends BenchError {
  public override readonly name = 'SoakIncompleteError';
  constructor(
    public readonly activities: number,
    public readonly lost: number,
    public readonly wrong: number,
    public readonly logDir: string,
  ) {
    super(`soak: ${lost} of ${activities} activities lost and ${wrong} wrong; logs in ${logDir}`);
  }
}

/** Thrown when the process is still held open by handles after its work was done and everything was closed. */
export class LeakedHandlesError extends BenchError {
  public override readonly name = 'LeakedHandlesError';
  constructor(public readonly resources: string[]) {
    super(`still running after everything was closed; open resources: ${resources.join(', ')}`);
  }
}
